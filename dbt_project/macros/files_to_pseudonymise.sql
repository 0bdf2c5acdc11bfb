{#- The usable files of a source, delivered by the run day, whose rows an incremental base model has
    not processed yet: a day's run pseudonymises that day's deliveries only. -#}
{% macro files_to_pseudonymise(source_name) -%}
    select file_id
    from {{ source('registry', 'landing_file') }}
    where source = '{{ source_name }}'
        and status in ('loaded', 'loaded_with_rejects')
        and delivered_on <= {{ run_day() }}
    {%- if is_incremental() %}
        and file_id not in (select distinct file_id from {{ this }})
    {%- endif %}
{%- endmacro %}
