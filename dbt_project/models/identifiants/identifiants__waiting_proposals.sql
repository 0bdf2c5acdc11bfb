-- RESTRICTED (schema identifiants, pipeline role only): the orientation team's morning list, the
-- proposals waiting for a decision on the run day, with what the team needs to decide and no more:
-- the reason in plain French (the rule's label), the parcours and destination proposed, how long it
-- has waited, and, to find the person in its own tools, the CAF allocataire number and the role in the
-- household (DEM, CJT). No NIR, no name, no street: the allocataire number and the role designate the
-- person in the CAF's and the Département's own applications, where the team reads the file it decides
-- on (data minimisation). Written to the outbox by aiguillage.extracts.waiting_proposals.
{{ config(materialized='table', schema='identifiants',
          post_hook=["revoke all on {{ this }} from public"]) }}

with waiting as (

    select * from {{ ref('orientation_proposals') }}
    where statut_proposition = 'EN_ATTENTE_DECISION'

),

situations as (

    select person_id, dossier_key, role_rsa from {{ ref('int_persons__situations') }}

),

dossiers as (

    select dossier_key, matricule from {{ ref('stg_caf__dossier_states') }}

),

communes as (

    select code_insee, nom_commune from {{ ref('communes') }}

),

parcours as (

    select code, libelle from {{ ref('codes_parcours') }}

),

destinations as (

    select code_structure, libelle from {{ ref('destinations') }}

)

select
    {{ run_day() }} as date_liste,
    waiting.id_proposition,
    waiting.date_proposition,
    waiting.jours_attente,
    left(dossiers.matricule, 7) as numero_caf,
    situations.role_rsa as role,
    waiting.code_insee as code_commune,
    communes.nom_commune as commune,
    waiting.code_territoire,
    waiting.origine,
    waiting.parcours_propose,
    parcours.libelle as libelle_parcours_propose,
    waiting.code_structure_proposee,
    destinations.libelle as structure_proposee,
    waiting.code_regle,
    waiting.libelle_regle as motif_proposition,
    waiting.parcours_actuel,
    waiting.structure_actuelle,
    waiting.date_limite_orientation
from waiting
left join situations on situations.person_id = waiting.person_id
left join dossiers on dossiers.dossier_key = situations.dossier_key
left join communes on communes.code_insee = waiting.code_insee
left join parcours on parcours.code = waiting.parcours_propose
left join destinations on destinations.code_structure = waiting.code_structure_proposee
