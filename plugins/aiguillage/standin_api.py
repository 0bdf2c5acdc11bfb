"""Serve the France Travail API stand-in for in-process runs (demo, tests, local trials).

Only used when asked for (``aiguillage run --france-travail-standin``, and the demo): a run by
hand must never answer partner lookups from a stand-in by accident.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager

CONN_ENV = "AIRFLOW_CONN_FRANCE_TRAVAIL_API"


@contextmanager
def serving() -> Iterator[str]:
    """Start the stand-in on loopback, point the Airflow connection at it, yield its URL."""
    from aiguillage import warehouse
    from aiguillage.france_travail.api_standin import (
        DEV_CLIENT_ID,
        DEV_CLIENT_SECRET,
        StandinServer,
        WarehouseResolver,
    )

    previous = os.environ.get(CONN_ENV)
    with StandinServer(resolver=WarehouseResolver(warehouse.connect)) as server:
        host, port = server.base_url.removeprefix("http://").split(":")
        os.environ[CONN_ENV] = json.dumps({
            "conn_type": "http", "host": host, "port": int(port), "login": DEV_CLIENT_ID,
            "password": DEV_CLIENT_SECRET, "extra": {"scheme": "http", "max_requests_per_second": 200},
        })
        try:
            yield server.base_url
        finally:
            if previous is None:
                os.environ.pop(CONN_ENV, None)
            else:
                os.environ[CONN_ENV] = previous
