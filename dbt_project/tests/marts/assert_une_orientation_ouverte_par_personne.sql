-- Une personne n'a jamais plus d'une orientation non close : un changement de destination clôt
-- l'ancienne le jour même où il ouvre la nouvelle.
select person_id, count(*) as orientations_non_closes
from {{ ref('referrals') }}
where statut_orientation <> 'CLOTUREE'
group by person_id
having count(*) > 1
