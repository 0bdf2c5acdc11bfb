-- What an agency that queries the warehouse directly reads: the lines of its own extract of the run
-- day (the day's movements and, as `stock`, every referral open at the agency), with the same columns
-- as the files it receives, so nothing more than it already gets: names and address of its own
-- people, never a NIR. Each row is shown only to a role that has the privileges of the agency role
-- mapped to its code_structure (agences.role_structure, kept by aiguillage.roles): a role of another
-- agency gets no row, whatever it filters on. security_barrier keeps the agency filter ahead of any
-- condition or function of the reader's query, so that no other agency's value reaches them.
-- The view is dropped with identifiants__extract_lines at each build and recreated here; its grants
-- come back through the schema's default privileges (aiguillage.roles).
{{ config(materialized='view', schema='agences', alias='orientations',
          post_hook=["alter view {{ this }} set (security_barrier = true)"]) }}

with readable_agencies as (

    select mapping.code_structure
    from {{ source('agences', 'role_structure') }} as mapping
    inner join pg_catalog.pg_roles as roles on roles.rolname = mapping.role_name
    where pg_catalog.pg_has_role(current_user, roles.oid, 'USAGE')

)

select
    lines.date_extrait,
    lines.fichier,
    lines.id_orientation,
    lines.type_mouvement,
    lines.date_orientation,
    lines.parcours,
    lines.code_structure,
    lines.motif_orientation,
    lines.civilite,
    lines.nom,
    lines.nom_naissance,
    lines.prenom,
    lines.date_naissance,
    lines.numero_caf,
    lines.role,
    lines.adresse,
    lines.code_postal,
    lines.code_commune,
    lines.commune,
    lines.date_entree_droits_devoirs,
    lines.etat_droit,
    lines.date_limite_contrat,
    lines.motif_cloture,
    lines.statut_orientation,
    lines.date_limite_orientation,
    lines.code_territoire,
    lines.origine,
    lines.structure_precedente,
    lines.date_notification,
    lines.date_contrat,
    lines.libelle_motif,
    lines.id_orientation_conjoint,
    lines.cle_foyer,
    lines.situation_familiale,
    lines.nombre_enfants,
    lines.identifiant_france_travail,
    lines.date_debut_contrat_precedent,
    lines.date_fin_contrat_precedent,
    lines.telephone,
    lines.email
from {{ ref('identifiants__extract_lines') }} as lines
where lines.code_structure in (select code_structure from readable_agencies)
