-- The persons of each dossier's current state, pseudonymised: no NIR, name, birth place or address.
-- Clear identifiers are in identifiants.identifiants__persons, joinable on the pseudonyms. A table:
-- the intermediate models read it several times, and it is the size of the caseload, not of history.
{{ config(materialized='table', indexes=[{'columns': ['dossier_person_key'], 'unique': true},
                                         {'columns': ['dossier_key']}]) }}

with source as (

    select * from {{ source('caf', 'caf_person') }}

),

states as (

    select dossier_key, file_id, position, delivered_on from {{ ref('stg_caf__dossier_states') }}

),

pseudonymised as (

    select
        states.dossier_key,
        states.delivered_on,
        source.*,
        pseudonyms.person_pseudonym,
        pseudonyms.identity_pseudonym,
        pseudonyms.name_pseudonym,
        pseudonyms.idassedic_pseudonym
    from source
    inner join states
        on states.file_id = source.file_id and states.position = source.position
    inner join {{ ref('base_caf__person_pseudonyms') }} as pseudonyms
        on pseudonyms.file_id = source.file_id and pseudonyms.position = source.position
        and pseudonyms.person_position = source.person_position

),

renamed as (

    select
        -- ids
        dossier_key || ':' || coalesce(person_pseudonym, identity_pseudonym) as dossier_person_key,
        coalesce(person_pseudonym, identity_pseudonym) as person_key,
        person_pseudonym,
        identity_pseudonym,
        name_pseudonym,
        dossier_key,
        matricule,
        numdemrsa as numero_demande_rsa,
        file_id,
        position,
        person_position,
        delivered_on,

        -- identity (no direct identifier)
        nir is not null as nir_present,
        coalesce(nir_valid, false) as nir_valid,
        -- a temporary number (sex digit 7 or 8) until the person's NIR is certified
        coalesce(nir_valid and left(trim(nir), 1) in ('7', '8'), false) as nir_provisoire,
        dtnai as date_naissance,
        rgnai as rang_naissance,
        typedtnai as type_date_naissance,
        topvaliec as etat_civil_valide,
        sexe,

        -- place in the dossier
        toprespdos as responsable_dossier,
        ddratdos as date_rattachement,
        dfratdos as date_fin_rattachement,
        numdemrsaprece as numero_demande_rsa_precedente,
        rolepers_rsa as role_rsa,
        rolepers_pfa as role_pfa,
        topchapers_rsa as a_charge_rsa,
        topchapers_pfa as a_charge_pfa,

        -- France Travail identifier, pseudonymised like identifiantpe in the France Travail models
        idassedic_pseudonym,

        -- rights and duties (TOPPERSDRODEVORSA; unknown when MontantCalculDroitRSAPersonne is missing)
        toppersdrodevorsa as soumis_droits_devoirs,
        toppersdrodevorsa is not null as soumis_droits_devoirs_connu,
        toppersentdrodevorsa as entre_droits_devoirs,
        mtpersressmenrsa as montant_ressources_mensuelles,

        -- quality
        array_to_string(flags, ',') as flags

    from pseudonymised

)

-- One row per person of a dossier, should a block list the same person twice (the first one kept).
select distinct on (dossier_key, person_key) *
from renamed
order by dossier_key, person_key, person_position
