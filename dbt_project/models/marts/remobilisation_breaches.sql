-- The breaches behind the équipe pluridisciplinaire's list, one row per breach reported by an
-- accompanying structure: which case it belongs to, who reported it, when. Nothing here reaches an
-- agency.
{{ config(indexes=[{'columns': ['id_remobilisation']}]) }}

select
    id_remobilisation,
    rang_dans_cas,
    person_id,
    id_orientation,
    code_structure,
    evenement,
    motif,
    date_manquement,
    file_id,
    line_number
from {{ ref('int_remobilisation__breaches') }}
