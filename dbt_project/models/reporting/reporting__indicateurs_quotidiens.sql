-- Les indicateurs quotidiens des orientations par territoire, parcours et structure : un jeu de
-- lignes par jour de build, conservé d'un jour à l'autre.
{{ config(alias='indicateurs_quotidiens') }}

select
    jour,
    code_territoire,
    parcours,
    code_structure,
    nb_orientations_ouvertes,
    nb_en_attente_structure,
    nb_nouvelles,
    nb_modifiees,
    nb_cloturees,
    nb_depassement_orientation,
    nb_depassement_contrat,
    nb_contrats_signes,
    nb_contrats_non_suivis,
    nb_revisions_parcours_social_dues
from {{ ref('referral_daily_indicators') }}
