-- Une personne n'a jamais plus d'une proposition en attente de décision : une nouvelle proposition rend
-- caduque celle qui attendait.
select person_id, count(*) as propositions_en_attente
from {{ ref('orientation_proposals') }}
where statut_proposition = 'EN_ATTENTE_DECISION'
group by person_id
having count(*) > 1
