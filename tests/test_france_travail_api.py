"""The France Travail API client against the stand-in, over real HTTP on loopback: the partner's real
interface (rechercher-usager v2, orientationusager v1), its business codes and its faults."""

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
from aiguillage.france_travail.api_client import (
    DEFAULT_SCOPE,
    AgentIdentity,
    ApiAuthError,
    ApiSettings,
    FranceTravailClient,
)
from aiguillage.france_travail.api_standin import (
    NO_ORIENTATION,
    REFUSED,
    SEVERAL,
    UNKNOWN_ADDRESS,
    Faults,
    StandinPerson,
    StandinServer,
    orientation_for,
)
from aiguillage.nir import make_nir

BORN = date(1988, 4, 17)
FOUND_NIR = make_nir(1, 1988, 4, "93", 66, 101)
SEVERAL_NIR = make_nir(2, 1988, 4, "93", 66, 102)
NO_ADDRESS_NIR = make_nir(1, 1988, 4, "93", 66, 103)
REFUSED_NIR = make_nir(2, 1988, 4, "93", 66, 104)
UNKNOWN_NIR = make_nir(1, 1988, 4, "93", 66, 105)
NO_ORIENTATION_NIR = make_nir(2, 1988, 4, "93", 66, 106)
MANY_NIRS = [make_nir(2, 1990, 1, "93", 8, order) for order in range(1, 21)]

CLIENT_SECRET = "a-client-secret-never-logged"
SEARCH_URL = "/partenaire/rechercher-usager/v2/usagers/par-datenaissance-et-nir"
READ_URL = "/partenaire/orientationusager/v1/lectureOrientation"
SEND_URL = "/partenaire/orientationusager/v1/orientation"
AGENT = {"pa-identifiant-agent": "BATCH", "pa-nom-agent": "Aiguillage", "pa-prenom-agent": "Aiguillage"}


def known_people() -> dict:
    criteres = {"situation_professionnelle": "SANS_EMPLOI", "capacite_a_travailler": True, "boe": False,
                "contrainte_sante": "NON"}
    decision = {"etat_decision": "VALIDEE", "date_decision": "2025-03-01", "organisme_decision": "CD",
                "motif_refus": None, "commentaire_refus": None, "structure": {"libelle_structure": "ALI 05"}}
    people = {
        (FOUND_NIR, BORN): StandinPerson.found("PSO", criteres=criteres, decision=decision),
        (SEVERAL_NIR, BORN): StandinPerson(SEVERAL),
        (NO_ADDRESS_NIR, BORN): StandinPerson(UNKNOWN_ADDRESS),
        (REFUSED_NIR, BORN): StandinPerson(REFUSED),
        (NO_ORIENTATION_NIR, BORN): StandinPerson(NO_ORIENTATION),
    }
    people.update({(nir, BORN): StandinPerson.found("PED") for nir in MANY_NIRS})
    return people


@pytest.fixture
def server():
    with StandinServer(known_people(), client_secret=CLIENT_SECRET) as running:
        yield running


def settings_for(server: StandinServer, **overrides) -> ApiSettings:
    values = dict(base_url=server.base_url, client_id="aiguillage-dev", client_secret=CLIENT_SECRET,
                  timeout=0.4, max_attempts=4, backoff_base=0.01, backoff_max=2.0, max_requests_per_second=0)
    values.update(overrides)
    return ApiSettings(**values)


@pytest.fixture
def client(server):
    with FranceTravailClient(settings_for(server)) as made:
        yield made


# --- lookups: search, then France Travail's orientation read -----------------------------------------


def test_found_person_gets_the_first_orientation_of_the_list(server, client):
    result = client.lookup(FOUND_NIR, BORN)

    assert result.outcome == "FOUND"
    assert result.orientation["parcours"] == "PSO"
    assert result.orientation["structure"] == {"libelle_structure": "Agence locale d'insertion"}
    assert result.orientation["criteres_orientation"]["capacite_a_travailler"] is True
    assert result.orientation["decision"]["etat_decision"] == "VALIDEE"
    assert [r.endpoint for r in result.records] == ["search", "read_orientation"]
    for record in result.records:
        assert (record.http_status, record.outcome, record.attempts) == (200, "FOUND", 1)
        assert record.requested_at.utcoffset() == UTC.utcoffset(None)
        assert record.elapsed_ms >= 0
    search, read = result.records
    assert search.business_code == "S001"
    assert search.body["jetonUsager"] == "[redacted]"  # a credential, not data to land
    assert isinstance(read.body, list) and read.body[0] == result.orientation  # landed as received: a list
    assert server.request_counts == {"token": 1, "search": 1, "read_orientation": 1, "send_orientation": 0}
    # Batch calls name the batch, as France Travail asks (headers pa-*).
    assert server.agents_seen == {("BATCH", "Aiguillage", "Aiguillage")}


def test_no_orientation_at_france_travail_is_a_result(server, client):
    result = client.lookup(NO_ORIENTATION_NIR, BORN)

    assert result.outcome == "NO_ORIENTATION"
    assert result.orientation is None
    read = result.records[-1]
    assert (read.endpoint, read.http_status, read.attempts, read.body) == ("read_orientation", 204, 1, None)


@pytest.mark.parametrize(("nir", "outcome", "code"), [
    (UNKNOWN_NIR, "NO_CANDIDATE", "S002"),
    (SEVERAL_NIR, "SEVERAL_CANDIDATES", "S003"),
])
def test_no_or_several_candidates_are_results_not_errors(server, client, nir, outcome, code):
    result = client.lookup(nir, BORN)

    assert result.outcome == outcome
    [search] = result.records
    assert (search.http_status, search.business_code, search.outcome, search.attempts) == (200, code, outcome, 1)
    assert result.orientation is None
    assert server.request_counts["search"] == 1
    assert server.request_counts["read_orientation"] == 0


def test_access_refused_is_not_retried(server, client):
    result = client.lookup(REFUSED_NIR, BORN)

    assert result.outcome == "ACCESS_REFUSED"
    [search] = result.records
    assert (search.http_status, search.business_code, search.attempts) == (403, "R001", 1)
    assert server.request_counts["search"] == 1


def test_unknown_address_is_not_retried(server, client):
    result = client.lookup(NO_ADDRESS_NIR, BORN)

    assert result.outcome == "UNKNOWN_ADDRESS"
    read = result.records[-1]
    assert (read.endpoint, read.http_status, read.business_code, read.attempts) == ("read_orientation", 400, "R998", 1)
    assert server.request_counts["read_orientation"] == 1


def test_a_search_answered_404_means_no_candidate(server, client):
    """rdv-insertion reads a 404 of the search as "no matching user": so does the client."""
    server.set_faults(fail_next=1, fail_status=404, endpoints=("search",))
    result = client.lookup(FOUND_NIR, BORN)
    assert (result.outcome, result.records[0].http_status, result.records[0].attempts) == ("NO_CANDIDATE", 404, 1)


# --- the orientation sent ------------------------------------------------------------------------------


def test_an_orientation_sent_reaches_france_travail(server, client):
    result = client.send_orientation(FOUND_NIR, BORN, origine="INSCRIPTION_AUTO_CAF", parcours="PSP")

    assert (result.outcome, result.uncertain) == ("SENT", False)
    assert [(r.endpoint, r.http_status, r.outcome) for r in result.records] == [
        ("search", 200, "FOUND"), ("send_orientation", 201, "SENT")]
    [received] = server.received_orientations
    assert received == {"nir": FOUND_NIR, "dateNaissance": BORN.isoformat(), "origine": "INSCRIPTION_AUTO_CAF",
                        "parcours": "PSP", "organisme": "CD", "agent": AGENT}


def test_an_orientation_for_a_person_not_found_is_not_sent(server, client):
    result = client.send_orientation(UNKNOWN_NIR, BORN, origine="INSCRIPTION_AUTO_CAF", parcours="PED")

    assert result.outcome == "NO_CANDIDATE"
    assert [r.endpoint for r in result.records] == ["search"]
    assert server.request_counts["send_orientation"] == 0


def test_france_travail_refusing_an_orientation_is_final(server, client):
    result = client.send_orientation(FOUND_NIR, BORN, origine="INSCRIPTION_AUTO_CAF", parcours="XYZ")

    assert (result.outcome, result.uncertain) == ("REFUSED", False)
    sent = result.records[-1]
    assert (sent.http_status, sent.attempts) == (400, 1)
    assert "orientation invalide" in sent.body["message"]
    assert server.received_orientations == []


def test_r998_on_the_send_is_unknown_address(server, client):
    result = client.send_orientation(NO_ADDRESS_NIR, BORN, origine="INSCRIPTION_AUTO_CAF", parcours="PSO")
    assert (result.outcome, result.records[-1].business_code) == ("UNKNOWN_ADDRESS", "R998")


def test_the_send_is_retried_only_when_france_travail_surely_did_not_take_it(server, client):
    # 503 (service unavailable) and 429: not taken, retried.
    server.set_faults(fail_next=2, fail_status=503, endpoints=("send_orientation",))
    result = client.send_orientation(FOUND_NIR, BORN, origine="INSCRIPTION_AUTO_CAF", parcours="PED")
    assert (result.outcome, result.records[-1].attempts, result.uncertain) == ("SENT", 3, False)

    # A 500 may have been taken: not retried, and said to be uncertain.
    server.set_faults(fail_next=1, fail_status=500, endpoints=("send_orientation",))
    result = client.send_orientation(FOUND_NIR, BORN, origine="INSCRIPTION_AUTO_CAF", parcours="PED")
    assert (result.outcome, result.records[-1].attempts, result.uncertain) == ("ERROR", 1, True)

    # A timeout too (the stand-in answers after the client gave up).
    server.set_faults(slow_next=1, slow_seconds=1.0, endpoints=("send_orientation",))
    result = client.send_orientation(FOUND_NIR, BORN, origine="INSCRIPTION_AUTO_CAF", parcours="PED")
    assert (result.outcome, result.records[-1].attempts, result.uncertain) == ("ERROR", 1, True)
    assert result.records[-1].body == {"error": "ReadTimeout"}


def test_may_send_can_stop_the_orientation_after_the_search(server, client):
    asked = []
    result = client.send_orientation(FOUND_NIR, BORN, origine="INSCRIPTION_AUTO_CAF", parcours="PED",
                                     may_send=lambda: asked.append(1) or False)
    assert asked == [1]
    assert result.outcome == "FOUND" and [r.endpoint for r in result.records] == ["search"]
    assert server.request_counts["send_orientation"] == 0


# --- faults: retries, Retry-After, tokens, rate ----------------------------------------------------


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


def test_a_burst_of_500_then_success(server, client):
    server.set_faults(fail_next=2, fail_status=500, endpoints=("read_orientation",))

    result = client.lookup(FOUND_NIR, BORN)

    assert result.outcome == "FOUND"
    read = result.records[1]
    assert (read.endpoint, read.http_status, read.attempts) == ("read_orientation", 200, 3)
    assert server.request_counts["read_orientation"] == 3


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
    server.set_faults(slow_next=1, slow_seconds=1.0, endpoints=("read_orientation",))

    result = client.lookup(FOUND_NIR, BORN)

    assert result.outcome == "FOUND"
    read = result.records[1]
    assert (read.http_status, read.attempts) == (200, 2)
    assert server.request_counts["read_orientation"] == 2


def test_connection_refused_ends_in_error_without_raising():
    with StandinServer() as gone:
        url = gone.base_url
    settings = ApiSettings(url, "id", "secret", timeout=0.2, max_attempts=2, backoff_base=0.01,
                           max_requests_per_second=0)
    with FranceTravailClient(settings) as client:
        result = client.lookup(FOUND_NIR, BORN)
        sent = client.send_orientation(FOUND_NIR, BORN, origine="INSCRIPTION_AUTO_CAF", parcours="PED")

    assert result.outcome == "ERROR"
    [token] = result.records
    assert (token.endpoint, token.http_status, token.attempts) == ("token", None, 2)
    assert token.body == {"error": "ConnectionError"}
    assert (sent.outcome, sent.uncertain) == ("ERROR", False)  # nothing left: surely not taken


def test_wrong_credentials_raise(server):
    with FranceTravailClient(settings_for(server, client_secret="wrong")) as client:
        with pytest.raises(ApiAuthError):
            client.lookup(FOUND_NIR, BORN)


def test_the_default_scopes_are_the_partner_apis_and_a_token_without_them_is_refused(server):
    assert ApiSettings("http://x", "id", "secret").scope == DEFAULT_SCOPE
    assert set(DEFAULT_SCOPE.split()) == {"api_rechercher-usagerv2", "rechercheusager", "api_orientationusagerv1",
                                          "orientationusager", "profil_accedant"}
    with FranceTravailClient(settings_for(server, scope="api_rechercher-usagerv2 rechercheusager")) as client:
        result = client.lookup(FOUND_NIR, BORN)
    assert result.outcome == "ACCESS_REFUSED"  # the search is allowed, the orientation read is not
    assert [(r.endpoint, r.http_status) for r in result.records] == [("search", 200), ("read_orientation", 403)]


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
    assert sent == 1 + 2 * len(MANY_NIRS)
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
    server.set_faults(fail_next=1, fail_status=503, endpoints=("search", "read_orientation", "send_orientation"))

    client.lookup(FOUND_NIR, BORN)
    client.lookup(NO_ADDRESS_NIR, BORN)
    client.lookup(UNKNOWN_NIR, BORN)
    client.send_orientation(FOUND_NIR, BORN, origine="INSCRIPTION_AUTO_CAF", parcours="PED")
    server.set_faults(token_expiry=0.0)  # every bearer refused: the 401 path logs too
    client.lookup(FOUND_NIR, BORN)

    text = caplog.text + "\n".join(str(record.args) for record in caplog.records)
    assert "urllib3.connectionpool" in {record.name for record in caplog.records}  # urllib3 was captured
    secrets_seen = [FOUND_NIR, NO_ADDRESS_NIR, UNKNOWN_NIR, FOUND_NIR[:13], CLIENT_SECRET,
                    *server.issued_tokens()]
    assert len(server.issued_tokens()) >= 3
    for secret in secrets_seen:
        assert secret not in text


def test_agent_identity_is_sent_and_must_be_a_clean_header_value(server):
    agent = AgentIdentity("BATCH", "Aiguillage CD93", "Orientations")
    with FranceTravailClient(settings_for(server, agent=agent)) as client:
        client.lookup(FOUND_NIR, BORN)
    assert server.agents_seen == {("BATCH", "Aiguillage CD93", "Orientations")}
    for forged in ("BATCH\r\nX-Forged: 1", "", "é" * 3, "x" * 101):
        with pytest.raises(ValueError, match="printable ASCII"):
            AgentIdentity(forged)


def test_agent_identity_comes_from_the_settings(monkeypatch):
    assert api_client.agent_from_config() == AgentIdentity("BATCH", "Aiguillage", "Aiguillage")
    monkeypatch.setenv("AIGUILLAGE_FT_AGENT_ID", "BATCH-CD93")
    monkeypatch.setenv("AIGUILLAGE_FT_AGENT_NOM", "aiguillage-orientations")
    assert api_client.agent_from_config() == AgentIdentity("BATCH-CD93", "aiguillage-orientations", "Aiguillage")


# --- the stand-in itself ---------------------------------------------------------------------------


def test_faults_can_be_switched_over_http(server, client):
    answer = requests.post(f"{server.base_url}/_faults", json={"fail_next": 1, "fail_status": 500}, timeout=2)
    assert answer.status_code == 200
    assert server.faults.fail_next == 1

    result = client.lookup(UNKNOWN_NIR, BORN)
    assert result.records[0].attempts == 2

    stats = requests.get(f"{server.base_url}/_stats", timeout=2).json()
    assert stats["requests"]["search"] == 2


def test_standin_answers_the_real_paths_headers_and_shapes(server):
    token = requests.post(f"{server.base_url}/connexion/oauth2/access_token?realm=%2Fpartenaire", data={
        "grant_type": "client_credentials", "client_id": "aiguillage-dev", "client_secret": CLIENT_SECRET,
        "scope": DEFAULT_SCOPE}, timeout=2).json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 1499
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    body = {"dateNaissance": BORN.isoformat(), "nir": FOUND_NIR}

    assert requests.post(server.base_url + SEARCH_URL, json=body, headers=AGENT, timeout=2).status_code == 401
    assert requests.post(server.base_url + SEARCH_URL, json=body, headers=bearer, timeout=2).status_code == 400
    malformed = requests.post(server.base_url + SEARCH_URL, json={"nir": FOUND_NIR}, headers={**bearer, **AGENT},
                              timeout=2)
    assert malformed.status_code == 400
    found = requests.post(server.base_url + SEARCH_URL, json=body, headers={**bearer, **AGENT}, timeout=2).json()
    assert found["codeRetour"] == "S001"
    jeton = {**bearer, **AGENT, "ft-jeton-usager": found["jetonUsager"]}
    [orientation] = requests.get(server.base_url + READ_URL, headers=jeton, timeout=2).json()
    assert set(orientation) >= {"parcours", "organisme", "structure", "structure_decision", "statut", "etat",
                                "date_entree_parcours", "date_creation", "date_modification", "origine",
                                "criteres_orientation", "decision", "date_sortie_parcours", "motif_sortie_parcours"}
    assert orientation == orientation_for("PSO", criteres=orientation["criteres_orientation"],
                                          decision=orientation["decision"])
    created = requests.post(server.base_url + SEND_URL, headers=jeton, timeout=2,
                            json={"origine": "INSCRIPTION_AUTO_CAF", "parcours": "PED", "organisme": "CD"})
    assert created.status_code == 201
    wrong_jeton = requests.get(server.base_url + READ_URL, headers={**jeton, "ft-jeton-usager": "nope"}, timeout=2)
    assert (wrong_jeton.status_code, wrong_jeton.json()["codeRetour"]) == (400, "R002")
    # The project's earlier, made-up paths do not exist.
    for old in ("/inscription-usager/v1/inscription", "/orientation-usager/v1/orientation"):
        assert requests.get(server.base_url + old, headers=jeton, timeout=2).status_code == 404


def test_standin_runs_as_a_process(tmp_path):
    people = tmp_path / "people.json"
    people.write_text(json.dumps([{"nir": FOUND_NIR, "dateNaissance": BORN.isoformat(),
                                   "orientation": orientation_for("PSP")}]))
    process = subprocess.Popen(
        [sys.executable, "-m", "aiguillage.france_travail.api_standin", "--port", "0", "--people-json",
         str(people)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        line = process.stdout.readline()
        assert "listening on http://127.0.0.1:" in line and "(1 people)" in line
        base_url = line.split("listening on ")[1].split()[0]
        settings = ApiSettings(base_url, "aiguillage-dev", "standin-secret", max_requests_per_second=0)
        with FranceTravailClient(settings) as client:
            assert client.lookup(UNKNOWN_NIR, BORN).outcome == "NO_CANDIDATE"
            assert client.lookup(FOUND_NIR, BORN).orientation["parcours"] == "PSP"
    finally:
        process.terminate()
        assert process.wait(timeout=5) == 0


# --- settings from Airflow ---------------------------------------------------------------------------


class FakeConnection(SimpleNamespace):
    """The attributes of an Airflow Connection the settings are read from."""


def test_settings_from_an_airflow_connection():
    conn = FakeConnection(conn_type="http", host="api.example.test", schema="https", port=None,
                          login="client", password="secret",
                          extra_dejson={"scope": "api_rechercher-usagerv2 rechercheusager", "timeout": "7",
                                        "max_requests_per_second": 2, "max_attempts": "3",
                                        "token_url": "https://auth.example.test/connexion/oauth2/access_token"
                                                     "?realm=%2Fpartenaire"})

    settings = api_client.settings_from_airflow_connection(conn)

    assert settings.base_url == "https://api.example.test"
    assert settings.url(api_client.SEARCH_PATH) == (
        "https://api.example.test/partenaire/rechercher-usager/v2/usagers/par-datenaissance-et-nir")
    assert (settings.client_id, settings.client_secret) == ("client", "secret")
    assert settings.scope == "api_rechercher-usagerv2 rechercheusager"  # the extra overrides the default
    assert (settings.timeout, settings.max_requests_per_second, settings.max_attempts) == (7.0, 2.0, 3)
    assert settings.access_token_url == "https://auth.example.test/connexion/oauth2/access_token?realm=%2Fpartenaire"
    assert settings.agent == AgentIdentity()
    assert "secret" not in repr(settings)


def test_the_default_scope_serves_when_the_connection_names_none():
    conn = FakeConnection(conn_type="http", host="api.example.test", schema="https", port=None, login="c",
                          password="s", extra_dejson={})
    assert api_client.settings_from_airflow_connection(conn).scope == DEFAULT_SCOPE


@pytest.mark.parametrize(("fields", "base_url"), [
    (dict(conn_type="http", host="127.0.0.1", schema="", port=8089), "http://127.0.0.1:8089"),
    (dict(conn_type="generic", host="api.example.test", schema="gateway", port=None),
     "https://api.example.test/gateway"),
    (dict(conn_type="http", host="https://api.example.test/", schema=None, port=None),
     "https://api.example.test"),
])
def test_base_url_from_connection_fields(fields, base_url):
    conn = FakeConnection(login="id", password="pw", extra=json.dumps({"timeout": 3}), **fields)
    settings = api_client.settings_from_airflow_connection(conn)
    assert settings.base_url == base_url
    assert settings.timeout == 3.0
