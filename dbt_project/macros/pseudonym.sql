{#- Keyed pseudonym (HMAC-SHA256, hex) of a direct identifier, computed inside the warehouse by
    aiguillage_meta.pseudonym (plugins/aiguillage/sql/003_pseudonymisation.sql). The key never
    appears in compiled SQL; NULL in, NULL out; a missing key yields NULL (tests catch it). -#}
{% macro pseudonym(expr) %}aiguillage_meta.pseudonym(({{ expr }})::text){% endmacro %}

{#- Pseudonym of a person's civil identity, for people without a valid NIR:
    upper(birth name) | upper(first name) | birth date YYYY-MM-DD | birth rank (empty when absent). -#}
{% macro identity_pseudonym(nomnai, prenom, dtnai, rgnai) -%}
{{ pseudonym("upper(coalesce(trim(" ~ nomnai ~ "), '')) || '|' || upper(coalesce(trim(" ~ prenom ~ "), ''))"
             " || '|' || coalesce(to_char(" ~ dtnai ~ ", 'YYYY-MM-DD'), '') || '|' || coalesce(" ~ rgnai ~ "::text, '')") }}
{%- endmacro %}

{#- Pseudonym of a usage name, first name and birth date, the way France Travail and the CAF can be
    matched when no NIR is shared: upper(trim(name)) | upper(trim(first name)) | YYYY-MM-DD. -#}
{% macro name_pseudonym(nom, prenom, dtnai) -%}
{{ pseudonym("upper(coalesce(trim(" ~ nom ~ "), '')) || '|' || upper(coalesce(trim(" ~ prenom ~ "), ''))"
             " || '|' || coalesce(to_char(" ~ dtnai ~ ", 'YYYY-MM-DD'), '')") }}
{%- endmacro %}
