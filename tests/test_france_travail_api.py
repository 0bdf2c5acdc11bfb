"""The France Travail API client against the stand-in, over real HTTP on loopback."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from datetime import UTC, date
from types import SimpleNamespace

import pytest
import requests

from aiguillage.france_travail import api_client
from aiguillage.france_travail.api_client import ApiAuthError, ApiSettings, FranceTravailClient
from aiguillage.france_travail.api_standin import (
    REFUSED,
    SEVERAL,
    UNKNOWN_ADDRESS,
    Faults,
    StandinPerson,
    StandinServer,
)
from aiguillage.nir import make_nir

BORN = date(1988, 4, 17)
FOUND_NIR = make_nir(1, 1988, 4, "93", 66, 101)
SEVERAL_NIR = make_nir(2, 1988, 4, "93", 66, 102)
NO_ADDRESS_NIR = make_nir(1, 1988, 4, "93", 66, 103)
REFUSED_NIR = make_nir(2, 1988, 4, "93", 66, 104)
UNKNOWN_NIR = make_nir(1, 1988, 4, "93", 66, 105)
MANY_NIRS = [make_nir(2, 1990, 1, "93", 8, order) for order in range(1, 21)]

CLIENT_SECRET = "a-client-secret-never-logged"


def known_people() -> dict:
    people = {
        (FOUND_NIR, BORN): StandinPerson.found("PSO", categorie=2, parcours_preconise="PED"),
        (SEVERAL_NIR, BORN): StandinPerson(SEVERAL),
        (NO_ADDRESS_NIR, BORN): StandinPerson(UNKNOWN_ADDRESS, registration={"inscrit": True, "categorie": 1}),
        (REFUSED_NIR, BORN): StandinPerson(REFUSED),
    }
    people.update({(nir, BORN): StandinPerson.found("PED") for nir in MANY_NIRS})
    return people


@pytest.fixture
def server():
    with StandinServer(known_people(), client_secret=CLIENT_SECRET) as running:
        yield running


def settings_for(server: StandinServer, **overrides) -> ApiSettings:
    values = dict(base_url=server.base_url, client_id="aiguillage-dev", client_secret=CLIENT_SECRET,
                  scope="api_rechercher-usagerv2", timeout=0.4, max_attempts=4, backoff_base=0.01,
                  backoff_max=2.0, max_requests_per_second=0)
    values.update(overrides)
    return ApiSettings(**values)


@pytest.fixture
def client(server):
    with FranceTravailClient(settings_for(server)) as made:
        yield made


def test_found_person_gets_registration_and_orientation(server, client):
    result = client.lookup(FOUND_NIR, BORN)

    assert result.outcome == "FOUND"
    assert result.orientation["codeParcours"] == "PSO"
    assert result.orientation["parcoursPreconise"] == "PED"
    assert result.registration["categorie"] == 2
    assert [r.endpoint for r in result.records] == ["search", "registration", "orientation"]
    for record in result.records:
        assert (record.http_status, record.outcome, record.attempts) == (200, "FOUND", 1)
        assert record.requested_at.tzinfo is not None
        assert record.requested_at.utcoffset() == UTC.utcoffset(None)
        assert record.elapsed_ms >= 0
    search = result.records[0]
    assert search.business_code == "S001"
    assert search.body["jetonUsager"] == "[redacted]"  # a credential, not data to land
    assert server.request_counts == {"token": 1, "search": 1, "registration": 1, "orientation": 1}


@pytest.mark.parametrize(("nir", "outcome", "code"), [
    (UNKNOWN_NIR, "NO_CANDIDATE", "S002"),
    (SEVERAL_NIR, "SEVERAL_CANDIDATES", "S003"),
])
def test_no_or_several_candidates_are_results_not_errors(server, client, nir, outcome, code):
    result = client.lookup(nir, BORN)

    assert result.outcome == outcome
    [search] = result.records
    assert (search.http_status, search.business_code, search.outcome, search.attempts) == (200, code, outcome, 1)
    assert result.orientation is None and result.registration is None
    assert server.request_counts["search"] == 1
    assert server.request_counts["orientation"] == 0


def test_access_refused_is_not_retried(server, client):
    result = client.lookup(REFUSED_NIR, BORN)

    assert result.outcome == "ACCESS_REFUSED"
    [search] = result.records
    assert (search.http_status, search.business_code, search.attempts) == (403, "R001", 1)
    assert server.request_counts["search"] == 1


def test_unknown_address_is_not_retried_and_keeps_the_registration(server, client):
    result = client.lookup(NO_ADDRESS_NIR, BORN)

    assert result.outcome == "UNKNOWN_ADDRESS"
    assert result.registration["inscrit"] is True
    assert result.orientation is None
    orientation = result.records[-1]
    assert (orientation.endpoint, orientation.http_status, orientation.business_code) == ("orientation", 400, "R998")
    assert orientation.attempts == 1
    assert server.request_counts["orientation"] == 1


def test_429_waits_for_retry_after_then_succeeds(server, client):
    server.set_faults(Faults(fail_next=1, fail_status=429, retry_after=1, endpoints=("search",)))

    started = time.monotonic()
    result = client.lookup(FOUND_NIR, BORN)

    assert time.monotonic() - started >= 1.0  # the client's own backoff would have been ~10 ms
    assert result.outcome == "FOUND"
    assert result.records[0].attempts == 2
    assert result.records[0].elapsed_ms >= 1000
    assert server.request_counts["search"] == 2


def test_retry_after_is_capped_by_backoff_max(server):
    server.set_faults(Faults(fail_next=1, fail_status=503, retry_after=3600, endpoints=("search",)))
    with FranceTravailClient(settings_for(server, backoff_max=0.2)) as client:
        started = time.monotonic()
        result = client.lookup(FOUND_NIR, BORN)

    assert result.outcome == "FOUND"
    assert time.monotonic() - started < 2


def test_two_500_then_success(server, client):
    server.set_faults(fail_next=2, fail_status=500, endpoints=("registration",))

    result = client.lookup(FOUND_NIR, BORN)

    assert result.outcome == "FOUND"
    registration = result.records[1]
    assert (registration.endpoint, registration.http_status, registration.attempts) == ("registration", 200, 3)
    assert server.request_counts["registration"] == 3


def test_permanent_503_ends_in_error_after_max_attempts(server, client):
    server.set_faults(fail_rate=1.0, fail_status=503)

    result = client.lookup(FOUND_NIR, BORN)

    assert result.outcome == "ERROR"
    [search] = result.records
    assert (search.http_status, search.outcome, search.attempts) == (503, "ERROR", 4)
    assert server.request_counts["search"] == 4

    server.set_faults()  # the next lookup works again: an ERROR never poisons the client
    assert client.lookup(FOUND_NIR, BORN).outcome == "FOUND"


def test_timeout_then_success(server, client):
    server.set_faults(slow_next=1, slow_seconds=1.0, endpoints=("orientation",))

    result = client.lookup(FOUND_NIR, BORN)

    assert result.outcome == "FOUND"
    orientation = result.records[2]
    assert (orientation.http_status, orientation.attempts) == (200, 2)
    assert server.request_counts["orientation"] == 2


def test_connection_refused_ends_in_error_without_raising():
    with StandinServer() as gone:
        url = gone.base_url
    settings = ApiSettings(url, "id", "secret", timeout=0.2, max_attempts=2, backoff_base=0.01,
                           max_requests_per_second=0)
    with FranceTravailClient(settings) as client:
        result = client.lookup(FOUND_NIR, BORN)

    assert result.outcome == "ERROR"
    [token] = result.records
    assert (token.endpoint, token.http_status, token.attempts) == ("token", None, 2)
    assert token.body == {"error": "ConnectionError"}


def test_wrong_credentials_raise(server):
    with FranceTravailClient(settings_for(server, client_secret="wrong")) as client:
        with pytest.raises(ApiAuthError):
            client.lookup(FOUND_NIR, BORN)


def test_token_is_reused_across_lookups(server, client):
    for nir in MANY_NIRS[:10]:
        assert client.lookup(nir, BORN).outcome == "FOUND"

    assert server.request_counts["token"] == 1
    assert server.request_counts["search"] == 10


def test_token_is_renewed_shortly_before_it_expires():
    with StandinServer(known_people(), client_secret=CLIENT_SECRET, token_expires_in=1) as server:
        with FranceTravailClient(settings_for(server)) as client:
            client.lookup(FOUND_NIR, BORN)
            time.sleep(1.0)
            assert client.lookup(FOUND_NIR, BORN).outcome == "FOUND"

        assert server.request_counts["token"] == 2
        assert server.request_counts["search"] == 2  # renewed before use: no 401 seen


def test_token_expired_early_is_renewed_on_401(server, client):
    server.set_faults(token_expiry=0.3)  # expires_in announced 1499 s, the server thinks otherwise

    client.lookup(FOUND_NIR, BORN)
    time.sleep(0.4)
    result = client.lookup(FOUND_NIR, BORN)

    assert result.outcome == "FOUND"
    assert result.records[0].attempts == 2  # the 401, then the retry with a fresh token
    assert server.request_counts["token"] == 2
    assert server.request_counts["search"] == 3


def test_requests_per_second_are_bounded(server):
    with FranceTravailClient(settings_for(server, max_requests_per_second=50)) as client:
        started = time.monotonic()
        for nir in MANY_NIRS:
            assert client.lookup(nir, BORN).outcome == "FOUND"
        elapsed = time.monotonic() - started

    sent = sum(server.request_counts.values())
    assert sent == 1 + 3 * len(MANY_NIRS)
    assert elapsed >= (sent - 1) / 50


def test_rate_limiter_spaces_requests():
    now = [0.0]
    waits: list[float] = []
    limiter = api_client.RateLimiter(4, clock=lambda: now[0], sleep=waits.append)
    for _ in range(3):
        limiter.acquire()
    assert waits == [0.25, 0.5]


def test_logs_never_show_nir_token_or_secret(server, client, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="urllib3")
    server.set_faults(fail_next=1, fail_status=503, endpoints=("search", "orientation"))

    client.lookup(FOUND_NIR, BORN)
    client.lookup(NO_ADDRESS_NIR, BORN)
    client.lookup(UNKNOWN_NIR, BORN)
    server.set_faults(token_expiry=0.0)  # every bearer refused: the 401 path logs too
    client.lookup(FOUND_NIR, BORN)

    text = caplog.text + "\n".join(str(record.args) for record in caplog.records)
    assert "urllib3.connectionpool" in {record.name for record in caplog.records}  # urllib3 was captured
    secrets_seen = [FOUND_NIR, NO_ADDRESS_NIR, UNKNOWN_NIR, FOUND_NIR[:13], CLIENT_SECRET,
                    *server.issued_tokens()]
    assert len(server.issued_tokens()) >= 3
    for secret in secrets_seen:
        assert secret not in text


def test_faults_can_be_switched_over_http(server, client):
    answer = requests.post(f"{server.base_url}/_faults", json={"fail_next": 1, "fail_status": 500}, timeout=2)
    assert answer.status_code == 200
    assert server.faults.fail_next == 1

    result = client.lookup(UNKNOWN_NIR, BORN)
    assert result.records[0].attempts == 2

    stats = requests.get(f"{server.base_url}/_stats", timeout=2).json()
    assert stats["requests"]["search"] == 2


def test_standin_answers_the_documented_shapes(server):
    token = requests.post(f"{server.base_url}/connexion/oauth2/access_token", data={
        "grant_type": "client_credentials", "client_id": "aiguillage-dev", "client_secret": CLIENT_SECRET,
        "scope": "x"}, timeout=2).json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 1499
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    search_url = f"{server.base_url}/rechercher-usager/v2/usagers/par-datenaissance-et-nir"

    refused = requests.post(search_url, json={"dateNaissance": BORN.isoformat(), "nir": FOUND_NIR}, timeout=2)
    assert refused.status_code == 401
    malformed = requests.post(search_url, json={"nir": FOUND_NIR}, headers=bearer, timeout=2)
    assert malformed.status_code == 400
    found = requests.post(search_url, json={"dateNaissance": BORN.isoformat(), "nir": FOUND_NIR},
                          headers=bearer, timeout=2).json()
    assert found["codeRetour"] == "S001"
    jeton = {**bearer, "ft-jeton-usager": found["jetonUsager"]}
    orientation = requests.get(f"{server.base_url}/orientation-usager/v1/orientation", headers=jeton,
                               timeout=2).json()
    assert {"codeParcours", "organisme", "structure", "statut", "dateEntree", "dateModification",
            "parcoursPreconise"} <= set(orientation)
    registration = requests.get(f"{server.base_url}/inscription-usager/v1/inscription", headers=jeton,
                                timeout=2).json()
    assert {"categorie", "dateInscription", "dateCessation", "motifCessation"} <= set(registration)
    wrong_jeton = requests.get(f"{server.base_url}/inscription-usager/v1/inscription",
                               headers={**bearer, "ft-jeton-usager": "nope"}, timeout=2)
    assert wrong_jeton.status_code == 400


def test_standin_runs_as_a_process():
    process = subprocess.Popen(
        [sys.executable, "-m", "aiguillage.france_travail.api_standin", "--port", "0"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        line = process.stdout.readline()
        assert "listening on http://127.0.0.1:" in line
        base_url = line.split("listening on ")[1].split()[0]
        settings = ApiSettings(base_url, "aiguillage-dev", "standin-secret", max_requests_per_second=0)
        with FranceTravailClient(settings) as client:
            assert client.lookup(FOUND_NIR, BORN).outcome == "NO_CANDIDATE"
    finally:
        process.terminate()
        assert process.wait(timeout=5) == 0


class FakeConnection(SimpleNamespace):
    """The attributes of an Airflow Connection the settings are read from."""


def test_settings_from_an_airflow_connection():
    conn = FakeConnection(conn_type="http", host="api.example.test", schema="https", port=None,
                          login="client", password="secret",
                          extra_dejson={"scope": "api_rechercher-usagerv2 o2dsoffre", "timeout": "7",
                                        "max_requests_per_second": 2, "max_attempts": "3",
                                        "token_url": "https://auth.example.test/token"})

    settings = api_client.settings_from_airflow_connection(conn)

    assert settings.base_url == "https://api.example.test"
    assert (settings.client_id, settings.client_secret) == ("client", "secret")
    assert settings.scope == "api_rechercher-usagerv2 o2dsoffre"
    assert (settings.timeout, settings.max_requests_per_second, settings.max_attempts) == (7.0, 2.0, 3)
    assert settings.access_token_url == "https://auth.example.test/token"
    assert "secret" not in repr(settings)


@pytest.mark.parametrize(("fields", "base_url"), [
    (dict(conn_type="http", host="127.0.0.1", schema="", port=8089), "http://127.0.0.1:8089"),
    (dict(conn_type="generic", host="api.example.test", schema="partenaire", port=None),
     "https://api.example.test/partenaire"),
    (dict(conn_type="http", host="https://api.example.test/partenaire/", schema=None, port=None),
     "https://api.example.test/partenaire"),
])
def test_base_url_from_connection_fields(fields, base_url):
    conn = FakeConnection(login="id", password="pw", extra=json.dumps({"timeout": 3}), **fields)
    settings = api_client.settings_from_airflow_connection(conn)
    assert settings.base_url == base_url
    assert settings.timeout == 3.0
