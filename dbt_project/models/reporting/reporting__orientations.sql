-- Les orientations, une ligne par orientation, telles qu'elles sont au jour du build : où elles en
-- sont, leurs délais légaux, chacun avec la règle qui l'a fixé, et s'ils sont dépassés. Sans person_id ni household_id : la personne
-- ne se compte qu'à travers est_premiere_orientation (sa première orientation connue), et
-- l'adresse qu'à la commune.
{{ config(alias='orientations') }}

with referrals as (

    select * from {{ ref('referrals') }}

)

select
    id_orientation,
    statut_orientation,
    etape,
    parcours,
    code_structure,
    code_territoire,
    code_insee,
    code_regle,
    role_rsa,
    etat_dossier_rsa,
    date_creation,
    date_orientation,
    date_cloture,
    motif_cloture,
    date_dernier_mouvement,
    dernier_mouvement,
    date_prise_en_charge,
    date_premier_rdv_honore,
    nb_rdv_non_honores,
    date_contrat,
    contrat_repris,
    date_reorientation_demandee,
    date_sortie,
    motif_sortie,
    id_proposition,
    origine,
    date_proposition,
    date_decision,
    date_notification,
    decide_par,
    delai_revision_mois,
    structure_precedente,
    id_orientation_precedente,
    date_entree_droits_devoirs,
    date_reception_information,
    regle_limite_orientation,
    date_limite_orientation,
    regle_limite_contrat,
    date_limite_contrat,
    statut_contrat,
    regle_revision_parcours_social,
    date_revision_parcours_social,
    reprise_de_stock,
    depassement_orientation,
    depassement_contrat,
    date_decision - date_reception_information as delai_orientation_jours,
    date_contrat - date_notification as delai_contrat_jours,
    row_number() over (partition by person_id order by date_creation, id_orientation) = 1
        as est_premiere_orientation
from referrals
