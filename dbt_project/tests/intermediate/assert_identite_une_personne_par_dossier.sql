-- Two persons of one dossier state are two people: identity resolution never gives them one
-- person_id (the extracts and the situation join on (person_id, dossier_key)).
select dossier_key, person_id, count(*) as nb_lignes
from {{ ref('int_persons__identities') }}
group by dossier_key, person_id
having count(*) > 1
