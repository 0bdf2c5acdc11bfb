{#- Models that read what an earlier run of the warehouse left in a mart (the rows before the run day),
    without ref(), which would close a loop in the graph: the mart is built from them. -#}

{#- The relation ``schema.identifier`` as the previous run left it, or none before the first build. -#}
{% macro previous_run_relation(schema, identifier) -%}
    {{ return(adapter.get_relation(database=target.database, schema=generate_schema_name(schema, none),
                                   identifier=identifier)) }}
{%- endmacro %}

{#- The select list of ``columns`` ([name, type] pairs) from ``relation``: a column the relation does not
    have yet (a warehouse built by an earlier version) reads as NULL of its type, so that an upgrade
    needs no rebuild. With no relation, the list of NULLs (for an empty ``where false`` select). -#}
{% macro columns_or_null(relation, columns) -%}
    {%- set existing = [] if relation is none else adapter.get_columns_in_relation(relation) | map(attribute='name') | list -%}
    {%- for column in columns -%}
        {%- if column[0] in existing %}{{ column[0] }}{% else %}null::{{ column[1] }} as {{ column[0] }}{% endif -%}
        {{ ", " if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{#- The columns of marts.referral_movements, as its contract (referral_movements.yml) declares them. -#}
{% macro referral_movement_columns() -%}
    {{ return([
        ['id_orientation', 'text'], ['date_mouvement', 'date'], ['type_mouvement', 'text'], ['person_id', 'text'],
        ['household_id', 'text'], ['statut_orientation', 'text'], ['parcours', 'text'], ['code_structure', 'text'],
        ['code_territoire', 'text'], ['code_regle', 'text'], ['motif_cloture', 'text'], ['date_creation', 'date'],
        ['date_orientation', 'date'], ['date_entree_droits_devoirs', 'date'], ['date_limite_orientation', 'date'],
        ['code_insee', 'text'], ['code_postal', 'text'], ['etat_dossier_rsa', 'text'], ['role_rsa', 'text'],
        ['situation_empreinte', 'text'], ['id_proposition', 'text'], ['origine', 'text'],
        ['date_proposition', 'date'], ['date_decision', 'date'], ['date_notification', 'date'],
        ['decide_par', 'text'], ['delai_revision_mois', 'integer'], ['structure_precedente', 'text'],
        ['id_orientation_precedente', 'text'],
    ]) }}
{%- endmacro %}

{#- The columns of marts.orientation_proposal_history, as its contract declares them. -#}
{% macro proposal_history_columns() -%}
    {{ return([
        ['id_proposition', 'text'], ['date_statut', 'date'], ['statut_proposition', 'text'], ['person_id', 'text'],
        ['household_id', 'text'], ['date_proposition', 'date'], ['origine', 'text'], ['parcours_propose', 'text'],
        ['code_structure_proposee', 'text'], ['type_structure_propose', 'text'], ['code_territoire', 'text'],
        ['code_insee', 'text'],
        ['code_regle', 'text'], ['rang_regle', 'integer'], ['libelle_regle', 'text'], ['criteres', 'jsonb'],
        ['validation_automatique', 'boolean'], ['date_entree_droits_devoirs', 'date'],
        ['date_limite_orientation', 'date'], ['id_orientation_actuelle', 'text'], ['parcours_actuel', 'text'],
        ['structure_actuelle', 'text'], ['date_decision', 'date'], ['date_notification', 'date'],
        ['decide_par', 'text'], ['motif_decision', 'text'], ['parcours_decide', 'text'],
        ['code_structure_decidee', 'text'], ['delai_revision_mois', 'integer'], ['decision_file_id', 'bigint'],
        ['decision_line_number', 'integer'],
    ]) }}
{%- endmacro %}
