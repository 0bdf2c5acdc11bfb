-- The latest France Travail API lookup of each person: its outcome, when it was made, and France
-- Travail's orientation as read (GET lectureOrientation: a list, the first element is the
-- orientation). A lookup is the calls sharing a lookup_id with purpose 'lookup' (search, then
-- read_orientation); its outcome is that of its first call not FOUND (the client stops there), else
-- FOUND. NO_ORIENTATION: France Travail holds none (HTTP 204).
-- Every field is read defensively: a value of an unexpected type or shape becomes NULL rather than
-- failing the model (the body stays in raw as received). Free-text comments (decision's
-- commentaire_refus) are not carried: they may name people. Readers: macros/json_values.sql.

{# The orientation criteria France Travail sends (criteres_orientation), by type. #}
{% set criteria_codes = [
    'situation_professionnelle', 'type_emploi', 'niveau_etude', 'projet_pro', 'contrainte_sante',
    'contrainte_logement', 'contrainte_mobilite', 'contrainte_familiale', 'contrainte_financiere',
    'contrainte_numerique', 'contrainte_administrative_juridique', 'contrainte_francais_calcul',
    'msa_demarches_professionnelles'] %}
{% set criteria_flags = [
    'capacite_a_travailler', 'boe', 'baeeh', 'scolarite_etablissement_specialise', 'esat',
    'boe_souhait_accompagnement'] %}

with source as (

    select * from {{ source('france_travail', 'france_travail_api_call') }}
    where purpose = 'lookup'

),

lookups as (

    select
        lookup_id,
        min(nir) as nir,
        min(dtnai) as dtnai,
        min(logical_date) as logical_date,
        min(requested_at) as requested_at,
        coalesce(
            (array_agg(outcome order by call_id) filter (where outcome <> 'FOUND'))[1],
            'FOUND'
        ) as outcome,
        (array_agg(business_code order by call_id) filter (where outcome <> 'FOUND'))[1] as failure_business_code,
        (array_agg(response order by call_id desc)
            filter (where endpoint = 'read_orientation' and outcome = 'FOUND'))[1] as read_answer,
        count(*) as calls
    from source
    where logical_date <= {{ run_day() }}
    group by lookup_id

),

answered as (

    select
        lookups.*,
        case when jsonb_typeof(read_answer) = 'array' then {{ json_as_object("read_answer -> 0") }} end as orientation
    from lookups

),

renamed as (

    select
        -- ids
        {{ pseudonym("left(upper(nir), 13)") }} as person_pseudonym,
        lookup_id,
        dtnai as date_naissance,

        -- the lookup
        logical_date,
        requested_at,
        outcome,
        outcome <> 'ERROR' as is_settled,
        failure_business_code,
        calls,
        orientation is not null as a_orientation,

        -- the orientation France Travail holds (parcours: PED, PSP, PSO; EMPLOI, SOCIAL, SOCIOPRO read as those)
        case upper({{ json_as_text("orientation -> 'parcours'") }})
            when 'PED' then 'PED' when 'EMPLOI' then 'PED'
            when 'PSP' then 'PSP' when 'SOCIAL' then 'PSP'
            when 'PSO' then 'PSO' when 'SOCIOPRO' then 'PSO'
        end as code_parcours,
        {{ json_as_text("orientation -> 'organisme'") }} as organisme,
        {{ json_as_text("orientation -> 'structure' -> 'libelle_structure'") }} as structure,
        {{ json_as_text("orientation -> 'structure_decision' -> 'libelle_structure'") }} as structure_decision,
        {{ json_as_text("orientation -> 'statut'") }} as statut_orientation,
        {{ json_as_text("orientation -> 'etat'") }} as etat_orientation,
        {{ json_as_text("orientation -> 'origine'") }} as origine_orientation,
        coalesce({{ json_as_date("orientation -> 'date_entree_parcours'") }},
                 {{ json_as_date("orientation -> 'date_creation'") }}) as date_entree_parcours,
        {{ json_as_date("orientation -> 'date_modification'") }} as date_modification_parcours,
        {{ json_as_date("orientation -> 'date_sortie_parcours'") }} as date_sortie_parcours,
        {{ json_as_text("orientation -> 'motif_sortie_parcours'") }} as motif_sortie_parcours,

        -- the orientation criteria: codes and flags typed, the whole object kept
        {%- for name in criteria_codes %}
        {{ json_as_text("orientation -> 'criteres_orientation' -> '" ~ name ~ "'") }} as critere_{{ name }},
        {%- endfor %}
        {%- for name in criteria_flags %}
        {{ json_as_boolean("orientation -> 'criteres_orientation' -> '" ~ name ~ "'") }} as critere_{{ name }},
        {%- endfor %}
        {{ json_as_integer("orientation -> 'criteres_orientation' -> 'msa_autonomie_recherche_emploi'") }}
            as critere_msa_autonomie_recherche_emploi,
        {{ json_as_object("orientation -> 'criteres_orientation'") }} as criteres_orientation,

        -- France Travail's decision on the orientation
        {{ json_as_text("orientation -> 'decision' -> 'etat_decision'") }} as decision_etat,
        {{ json_as_date("orientation -> 'decision' -> 'date_decision'") }} as decision_date,
        {{ json_as_text("orientation -> 'decision' -> 'organisme_decision'") }} as decision_organisme,
        {{ json_as_text("orientation -> 'decision' -> 'motif_refus'") }} as decision_motif_refus,
        {{ json_as_text("orientation -> 'decision' -> 'structure' -> 'libelle_structure'") }} as decision_structure,
        {{ json_as_object("orientation -> 'decision'") }} - 'commentaire_refus' as decision

    from answered

)

select distinct on (person_pseudonym) *
from renamed
order by person_pseudonym, requested_at desc, lookup_id desc
