"""Serve the France Travail API stand-in for in-process runs (demo, tests, local trials).

Only used when asked for (``aiguillage run --france-travail-standin``, and the demo): a run by
hand must never answer partner lookups from a stand-in by accident.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CONN_ENV = "AIRFLOW_CONN_FRANCE_TRAVAIL_API"


@contextmanager
def connection_to(server: Any) -> Iterator[None]:
    """Point the Airflow connection ``france_travail_api`` at a running stand-in, then restore it."""
    from aiguillage.france_travail.api_standin import DEV_CLIENT_ID, DEV_CLIENT_SECRET

    previous = os.environ.get(CONN_ENV)
    host, port = server.base_url.removeprefix("http://").split(":")
    os.environ[CONN_ENV] = json.dumps({
        "conn_type": "http", "host": host, "port": int(port), "login": DEV_CLIENT_ID,
        "password": DEV_CLIENT_SECRET, "extra": {"scheme": "http", "max_requests_per_second": 200},
    })
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(CONN_ENV, None)
        else:
            os.environ[CONN_ENV] = previous


@contextmanager
def serving() -> Iterator[str]:
    """Start the stand-in on loopback (knowing the warehouse's people), point the Airflow connection
    at it, yield its URL."""
    from aiguillage import warehouse
    from aiguillage.france_travail.api_standin import StandinServer, WarehouseResolver

    with StandinServer(resolver=WarehouseResolver(warehouse.connect)) as server, connection_to(server):
        yield server.base_url
