-- The current state of each CAF dossier: its latest row in stg_caf__dossiers (one row per dossier_key).
-- A table, not a view: every CAF staging model and the layers above join it, and a view would
-- re-rank the whole history (a monthly flow of every dossier, then the daily flows) at each use.
{{ config(materialized='table', indexes=[{'columns': ['dossier_key'], 'unique': true},
                                         {'columns': ['file_id', 'position'], 'unique': true}]) }}

with dossiers as (

    select * from {{ ref('stg_caf__dossiers') }}

)

select * from dossiers
where is_latest
