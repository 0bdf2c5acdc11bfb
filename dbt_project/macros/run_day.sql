{#- The day the warehouse is built for: the Airflow run's logical date, passed as the var run_day
    (YYYY-MM-DD). Every date-dependent rule (routing, active destinations, ages, deadlines, the day's
    movements) reads it, so that replaying a past day gives that day's answer, not today's.
    Without the var (a developer's ad hoc run) it is the database's current date. -#}
{% macro run_day() -%}
    {%- set day = var('run_day', none) -%}
    {%- if day is none or day == '' -%}
        current_date
    {%- else -%}
        {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', day | string) -%}
            {{ exceptions.raise_compiler_error("var run_day must be YYYY-MM-DD, got " ~ day) }}
        {%- endif -%}
        date '{{ day }}'
    {%- endif -%}
{%- endmacro %}

{#- Snapshots date their versions with the run day, not the wall clock: a day replayed from the
    landing zone gives the same history as the day run on time. -#}
{% macro postgres__snapshot_get_time() -%}
    ({{ run_day() }})::timestamp without time zone
{%- endmacro %}
