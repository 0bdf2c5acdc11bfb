-- Who must be oriented, as of the run day (docs/data-contracts.md §10). A person is ORIENTABLE
-- when they are DEM or CJT on a dossier whose right is open (ETATDOSRSA Z, 2, 3, 4), living in the
-- département (address routed to a territory), and subject to rights and duties (TOPPERSDRODEVORSA
-- = 1). A person who would be orientable but whose flag is missing (no MontantCalculDroitRSAPersonne
-- block) is A_SUIVRE: not referred, listed for follow-up. Everyone else is NON_ORIENTABLE, with the
-- first reason that applies (motif, in the order of the checks below). The orientation deadline is
-- the current period's (int_persons__information_receipts: six weeks from the Département's receipt
-- of the information, CASF D.262-65-2), with the rule that set it.
with situations as (

    select * from {{ ref('int_persons__situations') }}

),

roles as (

    select code, est_candidat from {{ ref('codes_rolepers') }}

),

entries as (

    select * from {{ ref('int_persons__duties_entries') }}

),

-- the current period's receipt of the information and the orientation deadline it starts
receipts as (

    select person_id, date_reception_information, regle_limite_orientation, date_limite_orientation
    from {{ ref('int_persons__information_receipts') }}
    where periode_fin is null

),

checked as (

    select
        situations.*,
        case
            when not coalesce(roles.est_candidat, false) then 'ROLE_NON_CANDIDAT'
            when not situations.droit_ouvert then 'DROIT_NON_OUVERT'
            when not situations.in_departement then 'HORS_DEPARTEMENT'
            when not situations.soumis_droits_devoirs_connu then 'DROITS_DEVOIRS_INCONNU'
            when not situations.soumis_droits_devoirs then 'HORS_DROITS_DEVOIRS'
        end as motif,
        coalesce(
            entries.entree_observee_le,
            greatest(situations.date_demande_rsa, situations.date_rattachement)
        ) as date_entree_droits_devoirs,
        receipts.date_reception_information,
        receipts.regle_limite_orientation,
        receipts.date_limite_orientation
    from situations
    left join roles on roles.code = situations.role_rsa
    left join entries on entries.person_id = situations.person_id
    left join receipts on receipts.person_id = situations.person_id

)

select
    person_id,
    dossier_key,
    household_id,
    case
        when motif is null then 'ORIENTABLE'
        when motif = 'DROITS_DEVOIRS_INCONNU' then 'A_SUIVRE'
        else 'NON_ORIENTABLE'
    end as statut_eligibilite,
    motif as motif_eligibilite,
    role_rsa,
    etat_dossier_rsa,
    soumis_droits_devoirs,
    code_territoire,
    code_insee,
    code_postal,
    address_pseudonym,
    droits_suspendus,
    sans_domicile_fixe,
    date_part('year', age({{ run_day() }}, date_naissance))::integer as age,
    case when motif is null or motif = 'DROITS_DEVOIRS_INCONNU' then date_entree_droits_devoirs end
        as date_entree_droits_devoirs,
    case when motif is null or motif = 'DROITS_DEVOIRS_INCONNU' then date_reception_information end
        as date_reception_information,
    case when motif is null or motif = 'DROITS_DEVOIRS_INCONNU' then regle_limite_orientation end
        as regle_limite_orientation,
    case when motif is null or motif = 'DROITS_DEVOIRS_INCONNU' then date_limite_orientation end
        as date_limite_orientation
from checked
