-- Les personnes du fichier CAF en cours, une ligne par personne, réduites à des attributs qui
-- s'agrègent : ni person_id ni household_id, ni identifiant d'orientation, l'âge en tranches et
-- l'entrée dans les droits et devoirs au mois. Une ligne se compte, elle ne se suit pas.
{{ config(alias='beneficiaires') }}

select
    sexe,
    case
        when age is null then null
        when age < 18 then '0-17'
        when age < 25 then '18-24'
        when age < 30 then '25-29'
        when age < 40 then '30-39'
        when age < 50 then '40-49'
        when age < 60 then '50-59'
        else '60+'
    end as tranche_age,
    nb_dossiers,
    role_rsa,
    etat_dossier_rsa,
    soumis_droits_devoirs,
    statut_eligibilite,
    motif_eligibilite,
    code_territoire,
    code_insee,
    date_trunc('month', date_entree_droits_devoirs)::date as mois_entree_droits_devoirs,
    regle_limite_orientation,
    orientation_par_france_travail,
    inscrit_ft,
    categorie_ft,
    parcours_preconise_ft,
    id_orientation is not null as a_une_orientation_en_cours,
    parcours,
    code_structure,
    statut_orientation
from {{ ref('beneficiaries') }}
