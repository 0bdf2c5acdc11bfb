-- Every dossier block (InfosFoyerRSA) of every usable CAF file: the dossier's history, one row per
-- (file_id, position). is_latest marks the row that gives the dossier's current state (see the YAML).
with source as (

    select * from {{ source('caf', 'caf_dossier') }}

),

files as (

    select file_id, delivered_on, header ->> 'TYPEFLUX' as caf_typeflux, (header ->> 'DTREF')::date as caf_reference_month
    from {{ source('registry', 'landing_file') }}
    where source = 'caf' and status in ('loaded', 'loaded_with_rejects')
        and delivered_on <= {{ run_day() }}

),

renamed as (

    select
        -- ids
        case when source.matricule is not null
            then coalesce(source.numorg, '') || '-' || source.matricule end as dossier_key,
        pseudonyms.household_id,
        source.file_id,
        source.position,
        source.fonorg as organisme_fonction,
        source.numorg as numero_organisme,
        source.matricule,
        source.numdemrsa as numero_demande_rsa,
        source.typeparte as partenaire_type,
        source.ideparte as partenaire_id,

        -- the file it came from
        files.delivered_on,
        files.caf_typeflux,
        files.caf_reference_month,

        -- the RSA right
        source.dtdemrsa as date_demande_rsa,
        source.etatdosrsa as etat_dossier_rsa,
        source.oridemrsa as origine_demande_rsa,
        source.dtoridemrsa as date_origine_demande_rsa,
        source.topfoydrodevorsa as foyer_soumis_droits_devoirs,
        source.ddelecal as date_elements_calcul,

        -- household
        source.sitfam as situation_familiale,
        source.ddsitfam as date_situation_familiale,
        source.topsansdomfixe as sans_domicile_fixe,
        source.nbenfautcha as nb_enfants_autres_a_charge,

        -- amounts
        source.mtrevminigararsa as montant_revenu_minimum_garanti,
        source.mtressmenrsa as montant_ressources_mensuelles,
        source.mttotdrorsa as montant_total_droit_rsa,

        -- transfer between organisations
        source.cedant_fonorg as cedant_organisme_fonction,
        source.cedant_numorg as cedant_numero_organisme,
        source.cedant_matricule,
        source.cedant_ddarrmut as cedant_date_arrivee_mutation,
        source.prenant_fonorg as prenant_organisme_fonction,
        source.prenant_numorg as prenant_numero_organisme,
        source.prenant_dddepamut as prenant_date_depart_mutation,

        -- quality
        array_to_string(source.caf_anomalies, ' | ') as caf_anomalies,
        array_to_string(source.flags, ',') as flags,
        -- where the block breaks the VRSB0801 schema: element, rule, line (never a value)
        cardinality(source.schema_errors) as schema_error_count,
        array_to_string(source.schema_errors, ' | ') as schema_errors

    from source
    inner join files on files.file_id = source.file_id
    left join {{ ref('base_caf__dossier_pseudonyms') }} as pseudonyms
        on pseudonyms.file_id = source.file_id and pseudonyms.position = source.position

),

ranked as (

    select
        renamed.*,
        row_number() over (
            partition by dossier_key
            order by delivered_on desc nulls last, file_id desc, position desc
        ) as state_rank
    from renamed

)

select
    file_id::text || '-' || position::text as dossier_row_key,
    ranked.*,
    dossier_key is not null and state_rank = 1 as is_latest
from ranked
