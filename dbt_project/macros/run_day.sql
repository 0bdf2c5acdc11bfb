{#- The day the warehouse is built for. Every date-dependent rule (routing, active destinations, ages,
    deadlines, the day's movements) reads it, so that replaying a past day gives that day's answer,
    not today's. In order:
    - the var run_day (YYYY-MM-DD), when given: unit tests and a developer's ad hoc runs;
    - else the day the referral_warehouse task wrote in aiguillage_meta.build_day before calling dbt,
      read when the model is compiled (not parsed): a day passed as a var would change dbt's parse state
      every day and cost a full re-parse of the project;
    - else (a warehouse never built by the pipeline) the database's current date. -#}
{% macro run_day() -%}
    {%- set day = var('run_day', none) -%}
    {%- if (day is none or day == '') and execute -%}
        {%- set day = warehouse_build_day() -%}
    {%- endif -%}
    {%- if day is none or day == '' -%}
        current_date
    {%- else -%}
        {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', day | string) -%}
            {{ exceptions.raise_compiler_error("run_day must be YYYY-MM-DD, got " ~ day) }}
        {%- endif -%}
        date '{{ day }}'
    {%- endif -%}
{%- endmacro %}

{#- The day written by the pipeline for this build (aiguillage_meta.build_day), or none. -#}
{% macro warehouse_build_day() -%}
    {%- set found = run_query("select day::text from aiguillage_meta.build_day") -%}
    {%- if found is none or (found.rows | length) == 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(found.rows[0][0]) }}
{%- endmacro %}

{#- Snapshots date their versions with the run day, not the wall clock: a day replayed from the
    landing zone gives the same history as the day run on time. -#}
{% macro postgres__snapshot_get_time() -%}
    ({{ run_day() }})::timestamp without time zone
{%- endmacro %}
