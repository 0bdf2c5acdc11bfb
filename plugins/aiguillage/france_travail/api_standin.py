"""Local stand-in of the France Travail partner API: a real HTTP server on loopback.

Our own design, inspired by the real API (OAuth2 client credentials, ``rechercher-usager`` v2, then
the person's registration and orientation read with the per-person token). It serves development,
tests and the demo; production talks to France Travail through the ``france_travail_api`` Airflow
connection. Endpoints (JSON bodies, UTF-8):

``POST /connexion/oauth2/access_token``
    Form ``grant_type=client_credentials&client_id=..&client_secret=..&scope=..``.
    200 ``{"access_token", "token_type": "Bearer", "expires_in", "scope"}``; 400 for another grant
    type; 401 ``{"error": "invalid_client"}`` for wrong credentials.

``POST /rechercher-usager/v2/usagers/par-datenaissance-et-nir``
    Bearer token; body ``{"dateNaissance": "YYYY-MM-DD", "nir": "<15 characters>"}`` (the NIR travels
    in the body, never in a URL). Business codes come back with HTTP 200, as at France Travail:
    ``{"codeRetour": "S001", "jetonUsager": ".."}`` found; ``{"codeRetour": "S002", "message"}`` no
    candidate; ``{"codeRetour": "S003", "message"}`` several candidates. 403 ``{"codeRetour": "R001"}``
    access refused. 400 for a malformed body; 401 for a missing, unknown or expired token.

``GET /inscription-usager/v1/inscription``  (header ``ft-jeton-usager``, bearer token)
    200 ``{"codeRetour": "S001", "inscrit", "categorie" (1..8), "dateInscription", "dateCessation",
    "motifCessation"}``; a person never registered: ``{"codeRetour": "S001", "inscrit": false}`` with
    the other fields null. 400 ``{"codeRetour": "R002"}`` for an unknown person token.

``GET /orientation-usager/v1/orientation``  (header ``ft-jeton-usager``, bearer token)
    200 ``{"codeRetour": "S001", "codeParcours" (PED employment / PSO socio-professional / PSP social),
    "organisme", "structure", "statut", "dateEntree", "dateModification", "parcoursPreconise"}``.
    A person France Travail holds no address for cannot be given a structure: **HTTP 400**
    ``{"codeRetour": "R998", "message"}`` (clients must read the code, not only the status).

Admin (stand-in only): ``POST /_faults`` (JSON of :class:`Faults` fields; replaces the faults, absent
fields take their defaults) and ``GET /_stats`` (``{"requests": {endpoint: count}}``).

Faults (:class:`Faults`) are set at construction and changed at run time with
:meth:`StandinServer.set_faults` or ``POST /_faults``: the next N requests or a fraction of them
answered with an error status (429 or 5xx, with ``Retry-After`` when configured), slowness (sleep
before answering; longer than the client's timeout to provoke timeouts), and tokens that stop working
after K seconds whatever ``expires_in`` announced. Requests are counted per endpoint (``token``,
``search``, ``registration``, ``orientation``) before any fault applies.

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

TOKEN_PATH = "/connexion/oauth2/access_token"
SEARCH_PATH = "/rechercher-usager/v2/usagers/par-datenaissance-et-nir"
REGISTRATION_PATH = "/inscription-usager/v1/inscription"
ORIENTATION_PATH = "/orientation-usager/v1/orientation"
PERSON_TOKEN_HEADER = "ft-jeton-usager"

DEV_CLIENT_ID = "aiguillage-dev"
DEV_CLIENT_SECRET = "standin-secret"  # the stand-in's own credential, not a France Travail one

# Behaviours of a known person.
FOUND = "FOUND"
SEVERAL = "SEVERAL"  # S003: several candidates share these identifiers
UNKNOWN_ADDRESS = "UNKNOWN_ADDRESS"  # found, but orientation answers R998
REFUSED = "REFUSED"  # R001: the partner may not see this person
BEHAVIOURS = (FOUND, SEVERAL, UNKNOWN_ADDRESS, REFUSED)

API_ENDPOINTS = ("search", "registration", "orientation")


@dataclass
class StandinPerson:
    """What the stand-in knows of one person, keyed by (NIR15, birth date) in the server."""

    behaviour: str = FOUND
    orientation: dict[str, Any] | None = None
    registration: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {self.behaviour!r}")

    @classmethod
    def found(
        cls,
        code_parcours: str = "PED",
        *,
        categorie: int | None = 1,
        date_inscription: str = "2025-01-06",
        date_entree: str = "2025-02-03",
        parcours_preconise: str | None = None,
    ) -> StandinPerson:
        """A person registered in `categorie` (None: never registered) and oriented to `code_parcours`."""
        registration = (
            {"inscrit": True, "categorie": categorie, "dateInscription": date_inscription,
             "dateCessation": None, "motifCessation": None}
            if categorie is not None else None
        )
        return cls(FOUND, orientation_for(code_parcours, date_entree, parcours_preconise), registration)


def orientation_for(code_parcours: str, date_entree: str, parcours_preconise: str | None = None) -> dict:
    """An orientation body as the stand-in serves it."""
    organisme, structure = {
        "PED": ("FT", "France Travail Seine-Saint-Denis"),
        "PSO": ("CD", "Agence locale d'insertion"),
        "PSP": ("CD", "Service social départemental"),
    }.get(code_parcours, ("CD", "Département de la Seine-Saint-Denis"))
    return {
        "codeParcours": code_parcours,
        "organisme": organisme,
        "structure": structure,
        "statut": "ORIENTE",
        "dateEntree": date_entree,
        "dateModification": date_entree,
        "parcoursPreconise": parcours_preconise or code_parcours,
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
    access_tokens: dict[str, float] = field(default_factory=dict)  # token -> issued (monotonic)
    person_tokens: dict[str, tuple[str, str]] = field(default_factory=dict)  # jeton -> person key
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

    def token_is_valid(self, token: str) -> bool:
        with self.lock:
            issued = self.access_tokens.get(token)
            if issued is None:
                return False
            lifetime = self.token_expires_in
            if self.faults.token_expiry is not None:
                lifetime = min(lifetime, self.faults.token_expiry)
            return time.monotonic() - issued < lifetime


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps connections alive, as a requests.Session expects; every answer sets Content-Length.
    protocol_version = "HTTP/1.1"
    server_version = "FranceTravailStandin/1.0"
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
            ("GET", REGISTRATION_PATH): ("registration", self._registration),
            ("GET", ORIENTATION_PATH): ("orientation", self._orientation),
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
        try:
            handler(raw)
        except (ValueError, KeyError, TypeError):
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
        with state.lock:
            state.access_tokens[token] = time.monotonic()
        self._send(200, {"access_token": token, "token_type": "Bearer",
                         "expires_in": state.token_expires_in, "scope": form.get("scope", "")})

    def _search(self, raw: bytes) -> None:
        if not self._authorized():
            return
        query = json.loads(raw)
        nir, birth = str(query["nir"]).strip().upper(), date.fromisoformat(query["dateNaissance"])
        if len(nir) != 15:
            self._send(400, {"message": "le NIR doit avoir 15 caractères"})
            return
        person = self.state.find_person((nir, birth.isoformat()))
        if person is None:
            self._send(200, {"codeRetour": "S002", "message": "Aucun usager trouvé"})
        elif person.behaviour == SEVERAL:
            self._send(200, {"codeRetour": "S003", "message": "Plusieurs usagers"})
        elif person.behaviour == REFUSED:
            self._send(403, {"codeRetour": "R001", "message": "Accès refusé"})
        else:
            jeton = secrets.token_urlsafe(32)
            with self.state.lock:
                self.state.person_tokens[jeton] = (nir, birth.isoformat())
            self._send(200, {"codeRetour": "S001", "message": "Usager trouvé", "jetonUsager": jeton})

    def _registration(self, raw: bytes) -> None:
        person = self._person_from_jeton()
        if person is None:
            return
        registration = person.registration or {
            "inscrit": False, "categorie": None, "dateInscription": None,
            "dateCessation": None, "motifCessation": None,
        }
        self._send(200, {"codeRetour": "S001", **registration})

    def _orientation(self, raw: bytes) -> None:
        person = self._person_from_jeton()
        if person is None:
            return
        if person.behaviour == UNKNOWN_ADDRESS:
            self._send(400, {"codeRetour": "R998",
                             "message": "Usager sans adresse : structure d'orientation non calculable"})
            return
        orientation = person.orientation or {
            "codeParcours": None, "organisme": None, "structure": None, "statut": "NON_ORIENTE",
            "dateEntree": None, "dateModification": None, "parcoursPreconise": None,
        }
        self._send(200, {"codeRetour": "S001", **orientation})

    def _set_faults(self, raw: bytes) -> None:
        faults = Faults.from_json(json.loads(raw or b"{}"))
        with self.state.lock:
            self.state.faults = faults
        self._send(200, {"faults": asdict(faults)})

    def _stats(self, raw: bytes) -> None:
        with self.state.lock:
            counts = dict(self.state.counts)
        self._send(200, {"requests": counts})

    # -- plumbing --------------------------------------------------------------------------------

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not self.state.token_is_valid(token.strip()):
            self._send(401, {"error": "invalid_token"}, {"WWW-Authenticate": "Bearer"})
            return False
        return True

    def _person_from_jeton(self) -> StandinPerson | None:
        if not self._authorized():
            return None
        with self.state.lock:
            key = self.state.person_tokens.get(self.headers.get(PERSON_TOKEN_HEADER, ""))
        if key is None:
            self._send(400, {"codeRetour": "R002", "message": "jeton usager inconnu"})
            return None
        return self.state.people[key]

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: dict, headers: Mapping[str, str] | None = None) -> None:
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(status)
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
        """Requests received per endpoint (token, search, registration, orientation), faults included."""
        with self._state.lock:
            return {name: self._state.counts.get(name, 0) for name in ("token", *API_ENDPOINTS)}

    def reset_counts(self) -> None:
        with self._state.lock:
            self._state.counts.clear()

    def issued_tokens(self) -> list[str]:
        """Access and person tokens handed out so far (tests check none of them reaches a log)."""
        with self._state.lock:
            return [*self._state.access_tokens, *self._state.person_tokens]


# -- people for the demo -------------------------------------------------------------------------

_PARCOURS_WEIGHTS = (("PED", 50), ("PSO", 30), ("PSP", 20))


def _bucket(nir15: str, modulo: int) -> int:
    """A stable number in [0, modulo) derived from the NIR: the same person always behaves the same."""
    return int.from_bytes(hashlib.sha256(nir15.encode("ascii")).digest()[:4], "big") % modulo


def people_from_warehouse(conn: Any) -> dict[tuple[str, str], StandinPerson]:
    """People France Travail "knows", built from the warehouse for the demo.

    A CAF person with a valid 15-character NIR is known when a France Travail file line carries the
    same NIR13 and birth date; registration comes from their latest line. The orientation is derived
    from the NIR so that reruns agree. About 2 % answer S003, 2 % R998 and 1 % R001.
    """
    rows = conn.execute(
        """
        SELECT DISTINCT upper(p.nir), p.dtnai, r.kind, r.code, r.date_evenement, r.motif,
               lf.delivered_on, r.file_id, r.line_number
        FROM raw.caf_person AS p
        JOIN raw.france_travail_record AS r ON r.nir = left(upper(p.nir), 13) AND r.dtnai = p.dtnai
        JOIN registry.landing_file AS lf ON lf.file_id = r.file_id
        WHERE p.nir_valid AND length(p.nir) = 15
        ORDER BY 1, 2, r.date_evenement, lf.delivered_on NULLS FIRST, r.file_id, r.line_number
        """
    ).fetchall()
    registrations: dict[tuple[str, str], dict[str, Any]] = {}
    for nir, born, kind, code, when, motif, *_order in rows:
        record = registrations.setdefault((nir, born.isoformat()), {})
        category = int(code) if str(code).isdigit() else None
        if kind in ("stock", "inscriptions"):
            record.update(inscrit=True, categorie=category, dateInscription=when.isoformat(),
                          dateCessation=None, motifCessation=None)
        else:  # cessations, radiations: the latest event wins, the registration date is kept
            record.update(inscrit=False, categorie=category, dateCessation=when.isoformat(),
                          motifCessation=motif)
            record.setdefault("dateInscription", None)
    people: dict[tuple[str, str], StandinPerson] = {}
    for (nir, born), registration in registrations.items():
        roll = _bucket(nir, 100)
        behaviour = SEVERAL if roll < 2 else UNKNOWN_ADDRESS if roll < 4 else REFUSED if roll < 5 else FOUND
        pick, parcours = _bucket(nir[::-1], 100), "PSP"
        for code, weight in _PARCOURS_WEIGHTS:
            if pick < weight:
                parcours = code
                break
            pick -= weight
        entry = registration.get("dateInscription") or registration.get("dateCessation") or "2025-01-01"
        people[(nir, born)] = StandinPerson(behaviour, orientation_for(parcours, entry), registration)
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
    """A JSON list of {"nir", "dateNaissance", "behaviour"?, "orientation"?, "registration"?}."""
    with open(path, encoding="utf-8") as handle:
        entries = json.load(handle)
    return {
        (entry["nir"], entry["dateNaissance"]): StandinPerson(
            entry.get("behaviour", FOUND), entry.get("orientation"), entry.get("registration")
        )
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
