{#- The CAF allocataire number on 7 digits: a 15-digit MATRICULE (the 7 of the number then 8 zeros, as
    the CNAF's software may write it) cut to its 7, a shorter one zero-padded (a spreadsheet drops
    leading zeros). The same rule as normalised_matricule in plugins/aiguillage/ingest/contacts_reader.py,
    which applies it to the contact-details files; NULL for anything but digits. -#}
{% macro normalised_matricule(expr) -%}
case
    when trim({{ expr }}) ~ '^[0-9]{15}$' and right(trim({{ expr }}), 8) = '00000000' then left(trim({{ expr }}), 7)
    when trim({{ expr }}) ~ '^[0-9]{1,15}$' then lpad(trim({{ expr }}), 7, '0')
end
{%- endmacro %}
