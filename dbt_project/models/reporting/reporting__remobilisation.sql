-- La liste de l'équipe pluridisciplinaire : un dossier de suspension-remobilisation par ligne, tel
-- qu'il est au jour du build (manquements déclarés par les structures, étapes enregistrées par le
-- Département, suspension appliquée par la CAF, remobilisation), avec les délais entre les étapes et
-- le statut. Le pipeline liste, il ne décide aucune sanction. Sans person_id ni household_id : la
-- personne se retrouve par id_orientation. Rien de cette liste ne va dans l'extrait d'une structure.
{{ config(alias='remobilisation') }}

select
    id_remobilisation,
    statut_remobilisation,
    origine,
    rang_cas,
    manquement_repete,
    code_territoire,
    id_orientation,
    foyer_plusieurs_personnes,
    date_debut,
    nb_manquements,
    date_premier_manquement,
    premier_manquement,
    code_structure_premier,
    date_dernier_manquement,
    dernier_manquement,
    code_structure_dernier,
    date_observations_invitees,
    date_limite_observations,
    date_observations_recues,
    date_fin_observations,
    date_ep,
    date_decision,
    decision,
    date_suspension,
    suspension_vue_le,
    suspension_en_cours,
    suspension_levee_le,
    nb_suspensions,
    date_remobilisation,
    evenement_remobilisation,
    jours_manquement_invitation,
    jours_invitation_fin_observations,
    jours_fin_observations_ep,
    jours_ep_decision,
    jours_decision_suspension,
    jours_depuis_debut,
    sanction_sans_invitation_observations,
    sanction_sans_avis_ep,
    reprise_versement_a_signaler
from {{ ref('remobilisation_cases') }}
