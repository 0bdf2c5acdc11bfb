{#- Defensive readers of a jsonb value (an SQL expression) landed as a partner sent it: a value of the
    expected JSON type and shape, else NULL, never an error (the body stays in raw as received). -#}

{#- A code or short label: a JSON string of 1 to 200 characters, or a number or boolean as text. -#}
{% macro json_as_text(value) -%}
    (case
        when jsonb_typeof({{ value }}) = 'string' and length({{ value }} #>> '{}') between 1 and 200
            then {{ value }} #>> '{}'
        when jsonb_typeof({{ value }}) in ('number', 'boolean') then {{ value }} #>> '{}'
    end)
{%- endmacro %}

{#- A flag: a JSON boolean only. -#}
{% macro json_as_boolean(value) -%}
    (case when jsonb_typeof({{ value }}) = 'boolean' then ({{ value }} #>> '{}')::boolean end)
{%- endmacro %}

{#- A whole number that fits an integer. -#}
{% macro json_as_integer(value) -%}
    (case when jsonb_typeof({{ value }}) = 'number' and ({{ value }} #>> '{}') ~ '^-?[0-9]{1,9}$'
        then ({{ value }} #>> '{}')::integer end)
{%- endmacro %}

{#- A day: a JSON string starting with a real YYYY-MM-DD date (a timestamp gives its day). -#}
{% macro json_as_date(value) -%}
    (case when jsonb_typeof({{ value }}) = 'string' and ({{ value }} #>> '{}') ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}'
              and pg_input_is_valid(left({{ value }} #>> '{}', 10), 'date')
        then left({{ value }} #>> '{}', 10)::date end)
{%- endmacro %}

{#- A JSON object, as it is. -#}
{% macro json_as_object(value) -%}
    (case when jsonb_typeof({{ value }}) = 'object' then {{ value }} end)
{%- endmacro %}
