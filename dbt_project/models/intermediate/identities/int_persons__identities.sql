-- Who is who. One row per person of a current dossier state, with the person_id the identity map
-- (history.person_identity_map, see its header for the rules) gives the key that speaks for the row,
-- and the code of the rule that linked that key to the person (identity_rule):
--   NIR13_DTNAI          a valid NIR (its first 13 characters) with the birth date;
--   NIR_APPARU           the civil identity was known in the dossier without a NIR: the NIR now given
--                        keeps the person's id;
--   NIR_CERTIFIE         idem, the civil identity had a temporary NIR (7 or 8) and now its certified one;
--   NIR_MODIFIE          idem, the civil identity had another NIR;
--   DEMANDE_PRECEDENTE   the same civil identity (birth name, first name, birth date, birth rank) in
--                        the dossier named by NUMDEMRSAPRECE: the earlier person, NIR or not;
--   MUTATION             idem in the dossier this one was transferred from (OrganismeCedant);
--   IDENTITE_MATRICULE   the civil identity within the household's dossier (NUMORG-MATRICULE).
-- Names alone never merge two households' people: homonyms (same names and birth date, different
-- NIR) stay two people; a couple sharing a MATRICULE and a first name, or twins (RGNAI), differ by
-- their civil identity. The same NIR with two birth dates is two people (the NIR alone is not
-- trusted), flagged here and listed in int_persons__nir_anomalies.
with persons as (

    select dossier_person_key, dossier_key, person_pseudonym, own_key
    from {{ ref('int_persons__identity_rows') }}

),

keys as (

    select identity_key, person_id, identity_rule, linked_dossier_key, date_liaison
    from {{ ref('person_identity_map') }}

),

anomalies as (

    select person_key as person_pseudonym from {{ ref('int_persons__nir_anomalies') }}

)

select
    persons.dossier_person_key,
    persons.dossier_key,
    keys.person_id,
    keys.identity_rule,
    keys.linked_dossier_key,
    anomalies.person_pseudonym is not null as anomalie_nir_plusieurs_dates,
    keys.date_liaison
from persons
left join keys on keys.identity_key = persons.own_key
left join anomalies on anomalies.person_pseudonym = persons.person_pseudonym
