"""RGPD retention: delete personal data once its retention period is over, keep anonymous totals.

A person is past the period on day D when their RSA rights closed and their last referral ended
more than ``AIGUILLAGE_RETENTION_MONTHS`` before D (nobody with open rights or an open referral is
ever purged). Their rows go from every layer in one transaction (:mod:`.purge`); delivered extract
files older than ``AIGUILLAGE_RETENTION_EXTRACT_MONTHS`` go too (:mod:`.archives`).

Modules: :mod:`.settings` (periods), :mod:`.candidates` (who and which rows), :mod:`.aggregates`
(anonymous totals kept for the BI), :mod:`.layers` (the deletes, per table), :mod:`.archives`
(extract files), :mod:`.record` (registry.retention_run), :mod:`.purge` (one run),
:mod:`.command` (the command line's summary) and :mod:`.tasks` (the DAG's task body).
"""
