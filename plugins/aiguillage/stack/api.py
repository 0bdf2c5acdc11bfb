"""A small client of the Airflow 3 REST API (``/api/v2``), as the stack's commands use it."""

from __future__ import annotations

import time
from datetime import datetime

import requests


class AirflowApiError(RuntimeError):
    pass


class AirflowApi:
    def __init__(self, base_url: str, username: str, password: str, timeout: float = 30):
        self.base_url = base_url.rstrip("/")
        self._username = username
        self._password = password
        self._timeout = timeout
        self._session = requests.Session()
        self._token: str | None = None

    # --- plumbing --------------------------------------------------------------------------------
    def healthy(self) -> bool:
        try:
            response = self._session.get(f"{self.base_url}/api/v2/monitor/health", timeout=5)
        except requests.RequestException:
            return False
        return response.status_code == 200

    def _authenticate(self) -> None:
        response = self._session.post(
            f"{self.base_url}/auth/token", json={"username": self._username, "password": self._password},
            timeout=self._timeout,
        )
        if response.status_code not in (200, 201):
            raise AirflowApiError(f"login to {self.base_url} refused: HTTP {response.status_code}")
        self._token = response.json()["access_token"]

    def request(self, method: str, path: str, *, ok: tuple[int, ...] = (200,), **kwargs) -> requests.Response:
        if self._token is None:
            self._authenticate()
        for attempt in range(2):
            response = self._session.request(
                method, f"{self.base_url}/api/v2{path}", timeout=self._timeout,
                headers={"Authorization": f"Bearer {self._token}"}, **kwargs,
            )
            if response.status_code == 401 and attempt == 0:  # token expired: log in again once
                self._authenticate()
                continue
            break
        if response.status_code not in ok:
            raise AirflowApiError(f"{method} {path}: HTTP {response.status_code}: {response.text[:300]}")
        return response

    # --- what the stack needs ---------------------------------------------------------------------
    def dag_ids(self) -> set[str]:
        response = self.request("GET", "/dags", params={"limit": 100})
        return {dag["dag_id"] for dag in response.json()["dags"]}

    def import_errors(self) -> list[dict]:
        return self.request("GET", "/importErrors").json()["import_errors"]

    def unpause(self, dag_id: str) -> None:
        self.request("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def ensure_pool(self, name: str, slots: int, description: str) -> None:
        body = {"name": name, "slots": slots, "description": description, "include_deferred": False}
        response = self.request("POST", "/pools", json=body, ok=(200, 201, 409))
        if response.status_code == 409:
            self.request("PATCH", f"/pools/{name}", json=body)

    def trigger(self, dag_id: str, *, logical_date: datetime | None, conf: dict) -> dict | None:
        """A new run of ``dag_id``; None when a run with this logical date exists already."""
        body = {"logical_date": logical_date.isoformat() if logical_date else None, "conf": conf}
        response = self.request("POST", f"/dags/{dag_id}/dagRuns", json=body, ok=(200, 409))
        return None if response.status_code == 409 else response.json()

    def dag_run(self, dag_id: str, run_id: str) -> dict:
        return self.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}").json()

    def dag_runs_since(self, dag_id: str, since: datetime) -> list[dict]:
        response = self.request("GET", f"/dags/{dag_id}/dagRuns", params={
            "run_after_gte": since.isoformat(), "order_by": "run_after", "limit": 100})
        return response.json()["dag_runs"]

    def upstream_asset_events(self, dag_id: str, run_id: str) -> list[dict]:
        return self.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}/upstreamAssetEvents").json()["asset_events"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        response = self.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 500})
        return response.json()["task_instances"]

    def wait_until_healthy(self, timeout: float, alive=lambda: True) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.healthy():
                return
            if not alive():
                raise AirflowApiError("a component of the stack exited while starting")
            time.sleep(0.5)
        raise AirflowApiError(f"the api-server did not answer on {self.base_url} within {timeout:.0f} s")
