"""The warehouse's PostgreSQL roles: the pipeline's, the analysts' and one per agency, each with the
least privilege it needs (see ``ensure``), and the ``aiguillage roles`` command (see ``command``)."""

from aiguillage.roles.command import roles_command
from aiguillage.roles.ensure import ensure_roles
from aiguillage.roles.names import AGENCY_SCHEMA, BI_ROLE, PIPELINE_ROLE, agency_role, receiving_agencies

__all__ = ["AGENCY_SCHEMA", "BI_ROLE", "PIPELINE_ROLE", "agency_role", "ensure_roles", "receiving_agencies",
           "roles_command"]
