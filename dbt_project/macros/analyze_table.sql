{#- Refresh the planner's statistics on a table a run has just (re)built: PostgreSQL does not gather
    them on CREATE TABLE AS or on a large insert until autovacuum passes, and a join planned on a
    table believed empty can take seconds instead of milliseconds. Views have nothing to analyze. -#}
{% macro analyze_table() -%}
    {%- if model.config.materialized in ('table', 'incremental', 'snapshot') -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}
