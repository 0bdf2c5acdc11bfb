"""Local stand-in of the France Travail partner API: a real HTTP server on loopback.

It serves the paths, headers and bodies production software of the départements uses
(docs/data-contracts.md §3), for development, tests and the demo; production talks to France Travail
through the ``france_travail_api`` Airflow connection. Where the public sources say nothing (the exact
HTTP status of R998, France Travail's values for ``statut`` and ``etat``, the body of a 201), the
stand-in makes a plausible choice, said below. Endpoints (JSON bodies, UTF-8):

``POST /connexion/oauth2/access_token``
    Form ``grant_type=client_credentials&client_id=..&client_secret=..&scope=..`` (a query string such
    as ``?realm=/partenaire`` is accepted). 200 ``{"access_token", "token_type": "Bearer", "expires_in",
    "scope"}``; 400 for another grant type; 401 ``{"error": "invalid_client"}`` for wrong credentials.
    The token carries the scopes asked for: an endpoint called without its scopes answers 403.

``POST /partenaire/rechercher-usager/v2/usagers/par-datenaissance-et-nir``
    Bearer token, agent headers; body ``{"dateNaissance": "YYYY-MM-DD", "nir": "<15 characters>"}``
    (the NIR travels in the body, never in a URL). Business codes come back with HTTP 200, as at France
    Travail: ``{"codeRetour": "S001", "message", "jetonUsager"}`` found; ``S002`` no candidate; ``S003``
    several candidates. 403 ``{"codeRetour": "R001"}`` access refused. 400 for a malformed body.

``GET /partenaire/orientationusager/v1/lectureOrientation``
    Bearer token, ``ft-jeton-usager`` and agent headers. 200 with a list of one orientation (fields
    ``parcours``, ``organisme``, ``structure``, ``structure_decision``, ``statut``, ``etat``,
    ``date_entree_parcours``, ``date_creation``, ``date_modification``, ``origine``,
    ``criteres_orientation``, ``decision``, ``date_sortie_parcours``, ``motif_sortie_parcours``); 204
    without a body when France Travail holds no orientation; ``{"codeRetour": "R998", "message"}`` with
    HTTP 400 for a person France Travail holds no address for; 400 ``{"codeRetour": "R002"}`` for an
    unknown person token.

``POST /partenaire/orientationusager/v1/orientation``
    Same headers; body ``{"origine", "parcours" (PED, PSP, PSO), "organisme": "CD"}``. 201
    ``{"message"}``: recorded (see :attr:`StandinServer.received_orientations`); 400 ``{"message"}``
    for a body that is not that; R998 as above.

Every endpoint but the token's wants the agent headers ``pa-identifiant-agent``, ``pa-nom-agent`` and
``pa-prenom-agent`` (400 without them) and a valid bearer (401 otherwise).

Admin (stand-in only): ``POST /_faults`` (JSON of :class:`Faults` fields; replaces the faults, absent
fields take their defaults) and ``GET /_stats`` (``{"requests": {endpoint: count}, "received": n}``).

Faults (:class:`Faults`) are set at construction and changed at run time with
:meth:`StandinServer.set_faults` or ``POST /_faults``: the next N requests or a fraction of them
answered with an error status (429 or 5xx, with ``Retry-After`` when configured), slowness (sleep
before answering; longer than the client's timeout to provoke timeouts), and tokens that stop working
after K seconds whatever ``expires_in`` announced. Business answers (S002, S003, R001, R998, 204) are
behaviours of the people it knows (:class:`StandinPerson`). Requests are counted per endpoint
(``token``, ``search``, ``read_orientation``, ``send_orientation``) before any fault applies.

The server never logs: ``log_message`` is silenced because request lines and errors could carry
personal data.

Run as a process::

    python -m aiguillage.france_travail.api_standin --port 0 [--people-json FILE] [--people-from-warehouse]

prints ``France Travail stand-in listening on http://127.0.0.1:<port>`` and serves until interrupted.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import secrets
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiguillage.france_travail.api_client import (
    PERSON_TOKEN_HEADER,
    READ_ORIENTATION_PATH,
    SEARCH_PATH,
    SEND_ORIENTATION_PATH,
    TOKEN_PATH,
)
from aiguillage.nir import nir_key

DEV_CLIENT_ID = "aiguillage-dev"
DEV_CLIENT_SECRET = "standin-secret"  # the stand-in's own credential, not a France Travail one

# Behaviours of a known person.
FOUND = "FOUND"
SEVERAL = "SEVERAL"  # S003: several candidates share these identifiers
UNKNOWN_ADDRESS = "UNKNOWN_ADDRESS"  # found, but reading or sending an orientation answers R998
REFUSED = "REFUSED"  # R001: the partner may not see this person
NO_ORIENTATION = "NO_ORIENTATION"  # found, France Travail holds no orientation: 204
BEHAVIOURS = (FOUND, SEVERAL, UNKNOWN_ADDRESS, REFUSED, NO_ORIENTATION)

API_ENDPOINTS = ("search", "read_orientation", "send_orientation")
AGENT_HEADERS = ("pa-identifiant-agent", "pa-nom-agent", "pa-prenom-agent")
# The scopes each endpoint wants (the token's scope must hold them all).
_SCOPES = {
    "search": {"api_rechercher-usagerv2", "rechercheusager"},
    "read_orientation": {"api_orientationusagerv1", "orientationusager"},
    "send_orientation": {"api_orientationusagerv1", "orientationusager"},
}
PARCOURS = ("PED", "PSP", "PSO")


@dataclass
class StandinPerson:
    """What the stand-in knows of one person, keyed by (NIR15, birth date) in the server."""

    behaviour: str = FOUND
    orientation: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {self.behaviour!r}")

    @classmethod
    def found(cls, parcours: str = "PED", **details: Any) -> StandinPerson:
        """A person France Travail oriented to `parcours` (see :func:`orientation_for` for details)."""
        return cls(FOUND, orientation_for(parcours, **details))


def orientation_for(
    parcours: str,
    *,
    date_entree: str | None = "2025-02-03",
    date_creation: str = "2025-01-20",
    statut: str = "ORIENTE",
    etat: str = "VALIDE",
    origine: str = "INSCRIPTION_AUTO_CAF",
    criteres: dict[str, Any] | None = None,
    decision: dict[str, Any] | None = None,
    date_sortie: str | None = None,
    motif_sortie: str | None = None,
) -> dict[str, Any]:
    """An element of lectureOrientation's answer as the stand-in serves it. The field names are
    France Travail's; the values of statut, etat and origine are the stand-in's own examples."""
    organisme, structure = {
        "PED": ("FT", "France Travail Seine-Saint-Denis"),
        "PSO": ("CD", "Agence locale d'insertion"),
        "PSP": ("CD", "Service social départemental"),
    }.get(parcours, ("CD", "Département de la Seine-Saint-Denis"))
    return {
        "parcours": parcours,
        "organisme": organisme,
        "structure": {"libelle_structure": structure},
        "structure_decision": {"libelle_structure": structure} if decision else None,
        "statut": statut,
        "etat": etat,
        "date_entree_parcours": date_entree,
        "date_creation": date_creation,
        "date_modification": f"{date_entree or date_creation}T09:30:00",
        "origine": origine,
        "criteres_orientation": criteres if criteres is not None else criteres_for(parcours),
        "decision": decision,
        "date_sortie_parcours": date_sortie,
        "motif_sortie_parcours": motif_sortie,
    }


def criteres_for(parcours: str) -> dict[str, Any]:
    """Orientation criteria consistent with `parcours` (illustrative values)."""
    social = parcours == "PSP"
    return {
        "situation_professionnelle": "SANS_EMPLOI",
        "type_emploi": None if social else "CDI",
        "niveau_etude": "NIV4",
        "capacite_a_travailler": not social,
        "projet_pro": "EN_CONSTRUCTION" if parcours == "PSO" else ("DEFINI" if parcours == "PED" else None),
        "contrainte_sante": "OUI" if social else "NON",
        "contrainte_logement": "OUI" if social else "NON",
        "contrainte_mobilite": "NON",
        "contrainte_familiale": "NON",
        "contrainte_financiere": "OUI" if parcours != "PED" else "NON",
        "contrainte_numerique": "NON",
        "contrainte_administrative_juridique": "NON",
        "contrainte_francais_calcul": "NON",
        "boe": False,
        "baeeh": False,
        "scolarite_etablissement_specialise": False,
        "esat": False,
        "boe_souhait_accompagnement": False,
        "msa_autonomie_recherche_emploi": None,
        "msa_demarches_professionnelles": None,
    }


@dataclass
class Faults:
    """Misbehaviours of the stand-in. Counters (``*_next``) are consumed as requests arrive."""

    fail_next: int = 0  # the next N requests answered with fail_status
    fail_rate: float = 0.0  # then this fraction of requests answered with fail_status
    fail_status: int = 503  # 429, 500, 502, 503...
    retry_after: int | None = None  # Retry-After (seconds) sent with those failures
    slow_next: int = 0  # the next N requests answered after slow_seconds
    slow_rate: float = 0.0  # then this fraction of requests answered after slow_seconds
    slow_seconds: float = 0.0
    token_expiry: float | None = None  # access tokens refused (401) after this many seconds
    endpoints: tuple[str, ...] = API_ENDPOINTS  # where fail/slow faults apply ("token" allowed)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Faults:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        values = dict(data)
        if "endpoints" in values:
            values["endpoints"] = tuple(values["endpoints"])
        return cls(**values)


def _iso(value: date | str) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


@dataclass
class _State:
    """Everything the request handlers share, guarded by one lock."""

    people: dict[tuple[str, str], StandinPerson]
    faults: Faults
    client_id: str
    client_secret: str
    token_expires_in: int
    rng: random.Random
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)
    counts: Counter = field(default_factory=Counter)
    access_tokens: dict[str, tuple[float, frozenset[str]]] = field(default_factory=dict)  # token -> (issued, scopes)
    person_tokens: dict[str, tuple[str, str]] = field(default_factory=dict)  # jeton -> person key
    received: list[dict[str, Any]] = field(default_factory=list)  # orientations sent to the stand-in
    agents_seen: set[tuple[str, str, str]] = field(default_factory=set)
    # Called on a search for someone not in `people` (the demo looks people up in the warehouse).
    resolver: Callable[[str, str], StandinPerson | None] | None = None

    def find_person(self, key: tuple[str, str]) -> StandinPerson | None:
        with self.lock:
            person = self.people.get(key)
        if person is None and self.resolver is not None:
            person = self.resolver(*key)
            if person is not None:
                with self.lock:
                    self.people[key] = person
        return person

    def draw_faults(self, endpoint: str) -> tuple[float, int | None]:
        """Count the request and decide its fate: (seconds to sleep, error status or None)."""
        with self.lock:
            self.counts[endpoint] += 1
            faults = self.faults
            if endpoint not in faults.endpoints:
                return 0.0, None
            delay = 0.0
            if faults.slow_next > 0:
                faults.slow_next -= 1
                delay = faults.slow_seconds
            elif faults.slow_rate and self.rng.random() < faults.slow_rate:
                delay = faults.slow_seconds
            status = None
            if faults.fail_next > 0:
                faults.fail_next -= 1
                status = faults.fail_status
            elif faults.fail_rate and self.rng.random() < faults.fail_rate:
                status = faults.fail_status
            return delay, status

    def token_scopes(self, token: str) -> frozenset[str] | None:
        """The scopes of a valid access token, None when the token is unknown or expired."""
        with self.lock:
            issued = self.access_tokens.get(token)
            if issued is None:
                return None
            lifetime = self.token_expires_in
            if self.faults.token_expiry is not None:
                lifetime = min(lifetime, self.faults.token_expiry)
            return issued[1] if time.monotonic() - issued[0] < lifetime else None


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps connections alive, as a requests.Session expects; every answer sets Content-Length.
    protocol_version = "HTTP/1.1"
    server_version = "FranceTravailStandin/2.0"
    # Headers and body leave in two writes: without TCP_NODELAY, Nagle + delayed ACK add ~40 ms each.
    disable_nagle_algorithm = True

    @property
    def state(self) -> _State:
        return self.server.state  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: request lines and errors must never reach a log (personal data)."""

    def do_GET(self) -> None:  # http.server's naming
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        path = urlsplit(self.path).path
        raw = self._read_body()
        routes = {
            ("POST", TOKEN_PATH): ("token", self._token),
            ("POST", SEARCH_PATH): ("search", self._search),
            ("GET", READ_ORIENTATION_PATH): ("read_orientation", self._read_orientation),
            ("POST", SEND_ORIENTATION_PATH): ("send_orientation", self._send_orientation),
            ("POST", "/_faults"): (None, self._set_faults),
            ("GET", "/_stats"): (None, self._stats),
        }
        route = routes.get((method, path))
        if route is None:
            self._send(404, {"message": "ressource inconnue"})
            return
        endpoint, handler = route
        if endpoint is not None:
            delay, status = self.state.draw_faults(endpoint)
            if delay:
                # Interruptible, so that stopping the server does not wait for sleeping handlers.
                self.state.stopping.wait(delay)
            if status is not None:
                headers = {}
                if self.state.faults.retry_after is not None:
                    headers["Retry-After"] = str(self.state.faults.retry_after)
                self._send(status, {"message": "erreur simulée"}, headers)
                return
            if endpoint != "token" and not self._allowed(endpoint):
                return
        try:
            handler(raw)
        except (ValueError, KeyError, TypeError, AttributeError):
            self._send(400, {"message": "requête invalide"})

    # -- endpoints -------------------------------------------------------------------------------

    def _token(self, raw: bytes) -> None:
        form = {key: values[0] for key, values in parse_qs(raw.decode("utf-8")).items()}
        if form.get("grant_type") != "client_credentials":
            self._send(400, {"error": "unsupported_grant_type"})
            return
        state = self.state
        good_id = secrets.compare_digest(form.get("client_id", ""), state.client_id)
        good_secret = secrets.compare_digest(form.get("client_secret", ""), state.client_secret)
        if not (good_id and good_secret):
            self._send(401, {"error": "invalid_client"})
            return
        token = secrets.token_urlsafe(24)
        scopes = frozenset(form.get("scope", "").split())
        with state.lock:
            state.access_tokens[token] = (time.monotonic(), scopes)
        self._send(200, {"access_token": token, "token_type": "Bearer",
                         "expires_in": state.token_expires_in, "scope": " ".join(sorted(scopes))})

    def _search(self, raw: bytes) -> None:
        query = json.loads(raw)
        nir, birth = str(query["nir"]).strip().upper(), date.fromisoformat(query["dateNaissance"])
        if len(nir) != 15:
            self._send(400, {"message": "le NIR doit avoir 15 caractères"})
            return
        person = self.state.find_person((nir, birth.isoformat()))
        if person is None:
            self._send(200, {"codeRetour": "S002", "message": "Aucun approchant n'a été trouvé"})
        elif person.behaviour == SEVERAL:
            self._send(200, {"codeRetour": "S003", "message": "Plusieurs approchants ont été trouvés"})
        elif person.behaviour == REFUSED:
            self._send(403, {"codeRetour": "R001", "message": "Accès non autorisé"})
        else:
            jeton = secrets.token_urlsafe(32)
            with self.state.lock:
                self.state.person_tokens[jeton] = (nir, birth.isoformat())
            self._send(200, {"codeRetour": "S001", "message": "Approchant trouvé", "jetonUsager": jeton})

    def _read_orientation(self, raw: bytes) -> None:
        found = self._person_from_jeton()
        if found is None:
            return
        _, person = found
        if person.behaviour == UNKNOWN_ADDRESS:
            self._no_address()
        elif person.behaviour == NO_ORIENTATION or person.orientation is None:
            self._send(204, None)
        else:
            self._send(200, [person.orientation])

    def _send_orientation(self, raw: bytes) -> None:
        found = self._person_from_jeton()
        if found is None:
            return
        (nir, born), person = found
        body = json.loads(raw)
        if not isinstance(body, dict) or body.get("parcours") not in PARCOURS or body.get("organisme") != "CD" \
                or not isinstance(body.get("origine"), str) or not body["origine"].strip():
            self._send(400, {"message": "orientation invalide : origine, parcours (PED, PSP, PSO) et "
                                        "organisme CD attendus"})
            return
        if person.behaviour == UNKNOWN_ADDRESS:
            self._no_address()
            return
        with self.state.lock:
            self.state.received.append({
                "nir": nir, "dateNaissance": born, "origine": body["origine"], "parcours": body["parcours"],
                "organisme": body["organisme"],
                "agent": {name: self.headers.get(name) for name in AGENT_HEADERS},
            })
        self._send(201, {"message": "Orientation enregistrée"})

    def _set_faults(self, raw: bytes) -> None:
        faults = Faults.from_json(json.loads(raw or b"{}"))
        with self.state.lock:
            self.state.faults = faults
        self._send(200, {"faults": asdict(faults)})

    def _stats(self, raw: bytes) -> None:
        with self.state.lock:
            counts, received = dict(self.state.counts), len(self.state.received)
        self._send(200, {"requests": counts, "received": received})

    # -- plumbing --------------------------------------------------------------------------------

    def _allowed(self, endpoint: str) -> bool:
        """A valid bearer with the endpoint's scopes, and the agent headers."""
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        scopes = self.state.token_scopes(token.strip()) if scheme.lower() == "bearer" else None
        if scopes is None:
            self._send(401, {"error": "invalid_token"}, {"WWW-Authenticate": "Bearer"})
            return False
        if not _SCOPES[endpoint] <= scopes:
            self._send(403, {"error": "insufficient_scope", "message": "scope insuffisant"})
            return False
        agent = tuple(self.headers.get(name, "").strip() for name in AGENT_HEADERS)
        if not all(agent):
            self._send(400, {"message": "en-têtes pa-identifiant-agent, pa-nom-agent et pa-prenom-agent attendus"})
            return False
        with self.state.lock:
            self.state.agents_seen.add(agent)  # type: ignore[arg-type]
        return True

    def _person_from_jeton(self) -> tuple[tuple[str, str], StandinPerson] | None:
        with self.state.lock:
            key = self.state.person_tokens.get(self.headers.get(PERSON_TOKEN_HEADER, ""))
            person = self.state.people.get(key) if key is not None else None
        if key is None or person is None:
            self._send(400, {"codeRetour": "R002", "message": "jeton usager inconnu"})
            return None
        return key, person

    def _no_address(self) -> None:
        self._send(400, {"codeRetour": "R998",
                         "message": "Usager sans adresse : structure d'orientation non calculable"})

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        payload = b"" if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(status)
            if body is not None:
                self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (its timeout fired while we were slow on purpose).
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: _State


class StandinServer:
    """The stand-in, served from a background thread (``with``) or the current one (:meth:`serve_forever`).

    `people` maps (NIR15, birth date as ``date`` or ISO string) to :class:`StandinPerson`; anyone
    else gets S002.
    """

    def __init__(
        self,
        people: Mapping[tuple[str, date | str], StandinPerson] | None = None,
        faults: Faults | None = None,
        *,
        client_id: str = DEV_CLIENT_ID,
        client_secret: str = DEV_CLIENT_SECRET,
        token_expires_in: int = 1499,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 0,
        resolver: Callable[[str, str], StandinPerson | None] | None = None,
    ) -> None:
        known = {(nir.strip().upper(), _iso(born)): person for (nir, born), person in (people or {}).items()}
        self._httpd = _Server((host, port), _Handler)
        self._httpd.state = _State(
            people=known, faults=faults or Faults(), client_id=client_id, client_secret=client_secret,
            token_expires_in=token_expires_in, rng=random.Random(seed), resolver=resolver,
        )
        self._thread: threading.Thread | None = None

    @property
    def _state(self) -> _State:
        return self._httpd.state

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    # -- life cycle ------------------------------------------------------------------------------

    def start(self) -> StandinServer:
        # A short poll interval makes stop() quick (shutdown waits for the next poll).
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="ft-standin", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever()

    def stop(self) -> None:
        self._state.stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> StandinServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- control and observation -----------------------------------------------------------------

    def set_faults(self, faults: Faults | None = None, **changes: Any) -> Faults:
        """Replace the faults (``set_faults()`` clears them), or change some fields of the current ones."""
        with self._state.lock:
            if faults is None and changes:
                current = asdict(self._state.faults)
                current.update(changes)
                faults = Faults.from_json(current)
            self._state.faults = faults or Faults()
            return self._state.faults

    @property
    def faults(self) -> Faults:
        return self._state.faults

    def add_person(self, nir15: str, birth_date: date | str, person: StandinPerson) -> None:
        with self._state.lock:
            self._state.people[(nir15.strip().upper(), _iso(birth_date))] = person

    @property
    def request_counts(self) -> dict[str, int]:
        """Requests received per endpoint (token, search, read_orientation, send_orientation), faults included."""
        with self._state.lock:
            return {name: self._state.counts.get(name, 0) for name in ("token", *API_ENDPOINTS)}

    def reset_counts(self) -> None:
        with self._state.lock:
            self._state.counts.clear()

    @property
    def received_orientations(self) -> list[dict[str, Any]]:
        """The orientations accepted so far (201), in order: nir, dateNaissance, origine, parcours,
        organisme and the agent headers of the call."""
        with self._state.lock:
            return [dict(item) for item in self._state.received]

    @property
    def agents_seen(self) -> set[tuple[str, str, str]]:
        """(pa-identifiant-agent, pa-nom-agent, pa-prenom-agent) of the calls accepted so far."""
        with self._state.lock:
            return set(self._state.agents_seen)

    def issued_tokens(self) -> list[str]:
        """Access and person tokens handed out so far (tests check none of them reaches a log)."""
        with self._state.lock:
            return [*self._state.access_tokens, *self._state.person_tokens]


# -- people for the demo -------------------------------------------------------------------------

_PARCOURS_WEIGHTS = (("PED", 50), ("PSO", 30), ("PSP", 20))
# Per hundred people France Travail oriented: a recommendation not decided yet (state EN_COURS; the
# rest is decided, state VALIDE), then the national criteria the demo gives some of them, so that
# every parcours rule of the warehouse has people to apply to. A person with one of those criteria
# is a recommendation: the Département decides (a decided orientation would be confirmed as it is).
_SHARE_RECOMMENDED = 40
_SHARE_BOE = 8  # recognised disabled workers (RQTH), on the employment or socio-professional side
_SHARE_MOBILITY, _SHARE_FAMILY = 15, 12  # of the socio-professional ones
_SHARE_IN_WORK = 10  # of the employment ones


def _bucket(value: str, modulo: int) -> int:
    """A stable number in [0, modulo) derived from a value: the same person always behaves the same."""
    return int.from_bytes(hashlib.sha256(value.encode("ascii")).digest()[:4], "big") % modulo


def demo_orientation(nir15: str, parcours: str, entered: date) -> StandinPerson:
    """France Travail's orientation of a demo person, with criteria drawn from the NIR (each draw its
    own salt): a recommendation or a decided orientation, and sometimes a recognition as a disabled
    worker, a mobility or family constraint, or work, consistent with `parcours`."""
    criteres = criteres_for(parcours)
    if parcours != "PSP" and _bucket(f"boe|{nir15}", 100) < _SHARE_BOE:
        criteres.update(boe=True, boe_souhait_accompagnement=True)
    if parcours == "PSO":
        criteres["contrainte_mobilite"] = "OUI" if _bucket(f"mobilite|{nir15}", 100) < _SHARE_MOBILITY else "NON"
        criteres["contrainte_familiale"] = "OUI" if _bucket(f"famille|{nir15}", 100) < _SHARE_FAMILY else "NON"
    if parcours == "PED" and _bucket(f"emploi|{nir15}", 100) < _SHARE_IN_WORK:
        criteres["situation_professionnelle"] = "EN_EMPLOI"
    particular = (criteres["boe"] or criteres["situation_professionnelle"] == "EN_EMPLOI"
                  or "OUI" in (criteres["contrainte_mobilite"], criteres["contrainte_familiale"]))
    etat = "EN_COURS" if particular or _bucket(f"etat|{nir15}", 100) < _SHARE_RECOMMENDED else "VALIDE"
    return StandinPerson.found(parcours, date_entree=entered.isoformat(), etat=etat, criteres=criteres)


def people_from_warehouse(conn: Any) -> dict[tuple[str, str], StandinPerson]:
    """People France Travail "knows", built from the warehouse for the demo.

    A CAF person with a valid NIR (13 or 15 characters; the key is computed for 13) is known when a
    France Travail file line carries the same NIR13 and birth date. Their latest line decides: category
    G (waiting for orientation) → no orientation (204); F (social accompaniment) → the social parcours
    decided by the Département. Otherwise the orientation is derived from the NIR so that reruns agree
    (:func:`demo_orientation`), and about 2 % answer S003, 2 % R998, 1 % R001 and 8 % hold no orientation.
    """
    rows = conn.execute(
        """
        SELECT DISTINCT ON (left(upper(p.nir), 13), p.dtnai)
               left(upper(p.nir), 13), p.dtnai, r.code, r.date_evenement
        FROM raw.caf_person AS p
        JOIN raw.france_travail_record AS r ON r.nir = left(upper(p.nir), 13) AND r.dtnai = p.dtnai
        JOIN registry.landing_file AS lf ON lf.file_id = r.file_id
        WHERE p.nir_valid AND length(p.nir) >= 13
        ORDER BY left(upper(p.nir), 13), p.dtnai, r.date_evenement DESC, lf.delivered_on DESC NULLS LAST,
                 r.file_id DESC, r.line_number DESC
        """
    ).fetchall()
    people: dict[tuple[str, str], StandinPerson] = {}
    for nir13, born, category, entered in rows:
        nir15 = f"{nir13}{nir_key(nir13):02d}"
        roll = _bucket(nir15, 100)
        if category == "G":
            person = StandinPerson(NO_ORIENTATION)
        elif category == "F":
            person = StandinPerson.found("PSP", date_entree=entered.isoformat(), origine="ACCOMPAGNEMENT_SOCIAL")
        elif roll < 13:
            behaviour = SEVERAL if roll < 2 else UNKNOWN_ADDRESS if roll < 4 else REFUSED if roll < 5 else NO_ORIENTATION
            person = StandinPerson(behaviour)
        else:
            pick, parcours = _bucket(nir15[::-1], 100), "PSP"
            for code, weight in _PARCOURS_WEIGHTS:
                if pick < weight:
                    parcours = code
                    break
                pick -= weight
            person = demo_orientation(nir15, parcours, entered)
        people[(nir15, born.isoformat())] = person
    return people


class WarehouseResolver:
    """Finds people in the warehouse for the demo: reloads :func:`people_from_warehouse` on a miss,
    at most once every `min_interval` seconds (the day's loads add people between two runs)."""

    def __init__(self, connect: Callable[[], Any], min_interval: float = 2.0) -> None:
        self._connect = connect
        self._min_interval = min_interval
        self._known: dict[tuple[str, str], StandinPerson] = {}
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()

    def __call__(self, nir15: str, birth_iso: str) -> StandinPerson | None:
        with self._lock:
            if (nir15, birth_iso) not in self._known and time.monotonic() - self._loaded_at > self._min_interval:
                with self._connect() as conn:
                    self._known = people_from_warehouse(conn)
                self._loaded_at = time.monotonic()
            return self._known.get((nir15, birth_iso))


def _people_from_json(path: str) -> dict[tuple[str, str], StandinPerson]:
    """A JSON list of {"nir", "dateNaissance", "behaviour"?, "orientation"?}."""
    with open(path, encoding="utf-8") as handle:
        entries = json.load(handle)
    return {
        (entry["nir"], entry["dateNaissance"]): StandinPerson(entry.get("behaviour", FOUND), entry.get("orientation"))
        for entry in entries
    }


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM ends serve_forever as Ctrl-C does."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Local stand-in of the France Travail partner API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--client-id", default=DEV_CLIENT_ID)
    parser.add_argument("--client-secret", default=DEV_CLIENT_SECRET)
    parser.add_argument("--token-expires-in", type=int, default=1499)
    parser.add_argument("--people-json", help="JSON list of known people")
    parser.add_argument("--people-from-warehouse", action="store_true",
                        help="know the CAF persons found in the warehouse's France Travail files")
    args = parser.parse_args(argv)

    people: dict[tuple[str, str], StandinPerson] = {}
    if args.people_json:
        people.update(_people_from_json(args.people_json))
    if args.people_from_warehouse:
        from aiguillage import warehouse

        with warehouse.connect() as conn:
            people.update(people_from_warehouse(conn))

    server = StandinServer(people, client_id=args.client_id, client_secret=args.client_secret,
                           token_expires_in=args.token_expires_in, host=args.host, port=args.port)
    signal.signal(signal.SIGTERM, _interrupt)
    sys.stdout.write(f"France Travail stand-in listening on {server.base_url} ({len(people)} people)\n")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
