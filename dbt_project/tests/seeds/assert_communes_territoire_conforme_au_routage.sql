-- communes.code_territoire (rattachement de la commune entière) doit rester égal à la règle de
-- routage « tout code postal » en vigueur sans date de fin : une seule vérité, deux lectures.
select c.code_insee, c.code_territoire, r.code_territoire as territoire_routage
from {{ ref('communes') }} as c
left join {{ ref('routage_codes_postaux') }} as r
    on r.code_insee = c.code_insee
    and r.code_postal is null
    and r.valide_au is null
where r.code_territoire is distinct from c.code_territoire
