"""Client of the France Travail partner API (or of its local stand-in, which serves the same paths).

The interface is the one production software of the départements calls (docs/data-contracts.md §3):

- an access token by OAuth2 client credentials, scopes :data:`DEFAULT_SCOPE`;
- the person searched by birth date and NIR15: ``POST`` :data:`SEARCH_PATH`, JSON body
  ``{"dateNaissance", "nir"}``, answering a person token (``jetonUsager``);
- with that token (header ``ft-jeton-usager``) and the agent headers (``pa-identifiant-agent``,
  ``pa-nom-agent``, ``pa-prenom-agent``): France Travail's orientation read with ``GET``
  :data:`READ_ORIENTATION_PATH` (a list, the first element is the orientation; 204 when France
  Travail holds none), or the Département's orientation sent with ``POST`` :data:`SEND_ORIENTATION_PATH`
  (``{"origine", "parcours", "organisme": "CD"}``).

A :meth:`FranceTravailClient.lookup` is search + read; a :meth:`FranceTravailClient.send_orientation` is
search + send. Each call ends as one :class:`ResponseRecord` (its final response, with the attempts
it took) so that the caller can land it as received. What the API's answers become:

- S002 (no candidate), S003 (several candidates), with HTTP 200, and a 404 on the search are results
  (``NO_CANDIDATE``, ``SEVERAL_CANDIDATES``), not errors; so is 204 on the read (``NO_ORIENTATION``);
- 403 / R001 → ``ACCESS_REFUSED``; R998 (no address at France Travail, whatever the HTTP status) →
  ``UNKNOWN_ADDRESS``; another 4xx on the send → ``REFUSED``: all final, never retried;
- 429, 5xx, connection errors and timeouts are retried with exponential backoff and full jitter
  (``Retry-After`` honoured, capped at ``backoff_max``), up to ``max_attempts``; then ``ERROR`` is
  returned, never raised. The send is not idempotent: it is retried only when France Travail surely
  did not take it (429, 503, no connection made); otherwise :attr:`SendResult.uncertain` says so;
- a 401 drops the cached access token, fetches a new one and retries once.

Only wrong credentials raise (:class:`ApiAuthError`): nothing can succeed until the connection is fixed.

Never logged: NIRs (they travel in the POST body, never in a URL, since urllib3 logs URLs), access
tokens, person tokens, client secrets. Logs say endpoint, status, attempt and elapsed time. Person
tokens are also blanked in the recorded bodies: a record is data, a token is a credential.

Production URLs and credentials come only from the ``france_travail_api`` Airflow connection
(:func:`settings_from_airflow_connection`), never from code.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError

from aiguillage.dag_defaults import FRANCE_TRAVAIL_API_CONN_ID

log = logging.getLogger(__name__)

TOKEN_PATH = "/connexion/oauth2/access_token"
SEARCH_PATH = "/partenaire/rechercher-usager/v2/usagers/par-datenaissance-et-nir"
READ_ORIENTATION_PATH = "/partenaire/orientationusager/v1/lectureOrientation"
SEND_ORIENTATION_PATH = "/partenaire/orientationusager/v1/orientation"
PERSON_TOKEN_HEADER = "ft-jeton-usager"
# The scopes production software asks for: user search (v2) and orientation (v1).
DEFAULT_SCOPE = "api_rechercher-usagerv2 rechercheusager api_orientationusagerv1 orientationusager profil_accedant"
# organisme of an orientation sent: the Département decided it.
ORGANISME_CD = "CD"

# Endpoints, as recorded in raw.france_travail_api_call.endpoint.
TOKEN = "token"
SEARCH = "search"
READ_ORIENTATION = "read_orientation"
SEND_ORIENTATION = "send_orientation"

# Outcomes, as allowed in raw.france_travail_api_call.outcome.
FOUND = "FOUND"
NO_CANDIDATE = "NO_CANDIDATE"
SEVERAL_CANDIDATES = "SEVERAL_CANDIDATES"
ACCESS_REFUSED = "ACCESS_REFUSED"
UNKNOWN_ADDRESS = "UNKNOWN_ADDRESS"
NO_ORIENTATION = "NO_ORIENTATION"
SENT = "SENT"
REFUSED = "REFUSED"
ERROR = "ERROR"
OUTCOMES = (FOUND, NO_CANDIDATE, SEVERAL_CANDIDATES, ACCESS_REFUSED, UNKNOWN_ADDRESS, NO_ORIENTATION, SENT,
            REFUSED, ERROR)

_NOT_FOUND_CODES = {"S002": NO_CANDIDATE, "S003": SEVERAL_CANDIDATES}
_RETRYABLE_EXCEPTIONS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
# A request France Travail cannot have acted upon: it was throttled or the service was down.
_NOT_TAKEN_STATUSES = (429, 503)
_SECRET_KEYS = ("jetonUsager", "access_token", "refresh_token")
_RAW_BODY_LIMIT = 2000
# Header values: printable ASCII without control characters (a CR/LF would forge a header).
_HEADER_VALUE = re.compile(r"[\x20-\x7e]{1,100}")


class ApiAuthError(RuntimeError):
    """The API refused our client credentials: configuration to fix, retrying cannot help."""


@dataclass(frozen=True)
class AgentIdentity:
    """Who France Travail is told makes the calls. A batch says "BATCH" and a logical batch name."""

    identifiant: str = "BATCH"
    nom: str = "Aiguillage"
    prenom: str = "Aiguillage"

    def __post_init__(self) -> None:
        for name in ("identifiant", "nom", "prenom"):
            if not _HEADER_VALUE.fullmatch(getattr(self, name)):
                raise ValueError(f"the France Travail agent's {name} must be 1 to 100 printable ASCII characters")

    @property
    def headers(self) -> dict[str, str]:
        return {"pa-identifiant-agent": self.identifiant, "pa-nom-agent": self.nom, "pa-prenom-agent": self.prenom}


BATCH_AGENT = AgentIdentity()


@dataclass(frozen=True)
class ApiSettings:
    base_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scope: str = DEFAULT_SCOPE
    timeout: float = 10.0  # seconds, per HTTP request
    max_attempts: int = 5  # per call, retryable failures included
    backoff_base: float = 0.5  # seconds; attempt n waits up to base * 2**(n-1)
    backoff_max: float = 30.0  # cap of a wait, Retry-After included
    max_requests_per_second: float = 5.0  # 0 or less: unbounded
    token_url: str | None = None  # France Travail serves tokens from another host than the API
    agent: AgentIdentity = BATCH_AGENT

    @property
    def access_token_url(self) -> str:
        return self.token_url or self.base_url.rstrip("/") + TOKEN_PATH

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path


@dataclass
class ResponseRecord:
    """The final response of one API call, as it will be landed.

    ``requested_at`` is when the first attempt was sent (UTC); ``elapsed_ms`` runs from then to the
    final response, retries and waits included; ``http_status`` is None when no response came
    (timeout, connection error); ``body`` is the JSON as received (an object or a list), None when
    the response had no body (204).
    """

    endpoint: str  # search, read_orientation, send_orientation; token when no access token could be had
    requested_at: datetime
    http_status: int | None
    business_code: str | None
    outcome: str
    attempts: int
    elapsed_ms: int
    body: Any


@dataclass
class LookupResult:
    """A person searched, then France Travail's orientation read (the first element of its answer)."""

    outcome: str
    records: list[ResponseRecord]
    orientation: dict[str, Any] | None = None

    @property
    def requests(self) -> int:
        return sum(record.attempts for record in self.records)


@dataclass
class SendResult:
    """A person searched, then the Département's orientation sent.

    ``uncertain``: the orientation may have reached France Travail without an answer saying so (a
    timeout, a 5xx other than 503, a connection lost after sending): it must not be sent again blindly.
    """

    outcome: str
    records: list[ResponseRecord]
    uncertain: bool = False

    @property
    def requests(self) -> int:
        return sum(record.attempts for record in self.records)


class RateLimiter:
    """At most `rate` requests per second, evenly spaced (a token bucket holding one token).

    Thread-safe: every request of the client goes through the same instance.
    """

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._next_slot = 0.0
        self._lock = threading.Lock()
        self._clock, self._sleep = clock, sleep

    def acquire(self) -> None:
        if not self._interval:
            return
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self._interval
        if slot > now:
            self._sleep(slot - now)


@dataclass
class _Exchange:
    """How one call ended after its retries: a response or a transport error."""

    response: requests.Response | None
    error: BaseException | None
    attempts: int


class _TokenUnavailable(Exception):
    def __init__(self, exchange: _Exchange) -> None:
        super().__init__("no access token")
        self.exchange = exchange


@dataclass
class _CallResult:
    record: ResponseRecord
    secret: str = field(default="", repr=False)  # the person token of a successful search
    exchange: _Exchange | None = None


class FranceTravailClient:
    """One session, one cached access token, one rate limiter. Use from one thread at a time."""

    def __init__(
        self,
        settings: ApiSettings,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self._session = session or requests.Session()
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._limiter = RateLimiter(settings.max_requests_per_second, sleep=sleep)
        self._token: str | None = None
        self._token_renew_at = 0.0  # monotonic time after which the token is renewed

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> FranceTravailClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- what callers do -------------------------------------------------------------------------

    def lookup(self, nir15: str, birth_date: date) -> LookupResult:
        """Search the person, then read France Travail's orientation if found. Never raises for API
        failures (only :class:`ApiAuthError` for refused credentials)."""
        search = self._search(nir15, birth_date)
        records = [search.record]
        if search.record.outcome != FOUND:
            return LookupResult(search.record.outcome, records)
        read = self._call(READ_ORIENTATION, "GET", READ_ORIENTATION_PATH,
                          headers={PERSON_TOKEN_HEADER: search.secret})
        records.append(read.record)
        # FOUND: a list whose first element is an object (what production software reads).
        orientation = read.record.body[0] if read.record.outcome == FOUND else None
        log.debug("France Travail lookup: %s in %d requests", read.record.outcome, sum(r.attempts for r in records))
        return LookupResult(read.record.outcome, records, orientation)

    def send_orientation(self, nir15: str, birth_date: date, *, origine: str, parcours: str,
                         organisme: str = ORGANISME_CD, may_send: Callable[[], bool] | None = None) -> SendResult:
        """Search the person, then send the Département's orientation if found. Never raises for API
        failures (only :class:`ApiAuthError` for refused credentials).

        ``may_send`` is asked once the person is found, right before the orientation leaves (the caller
        claims it there); when it answers False nothing is sent and the outcome is the search's (FOUND).
        """
        search = self._search(nir15, birth_date)
        records = [search.record]
        if search.record.outcome != FOUND or (may_send is not None and not may_send()):
            return SendResult(search.record.outcome, records)
        sent = self._call(SEND_ORIENTATION, "POST", SEND_ORIENTATION_PATH,
                          payload={"origine": origine, "parcours": parcours, "organisme": organisme},
                          headers={PERSON_TOKEN_HEADER: search.secret}, idempotent=False)
        records.append(sent.record)
        uncertain = sent.record.outcome == ERROR and sent.exchange is not None and not _surely_not_taken(sent.exchange)
        log.debug("France Travail send: %s%s", sent.record.outcome, " (uncertain)" if uncertain else "")
        return SendResult(sent.record.outcome, records, uncertain)

    def _search(self, nir15: str, birth_date: date) -> _CallResult:
        nir = nir15.strip().upper()
        if len(nir) != 15:
            raise ValueError("the France Travail search needs a 15-character NIR")  # the NIR stays out
        return self._call(SEARCH, "POST", SEARCH_PATH, payload={"dateNaissance": birth_date.isoformat(), "nir": nir})

    # -- one call --------------------------------------------------------------------------------

    def _call(self, endpoint: str, method: str, path: str, *, payload: Any = None,
              headers: Mapping[str, str] | None = None, idempotent: bool = True) -> _CallResult:
        requested_at = datetime.now(UTC)
        started = time.monotonic()
        attempts = 0
        refreshed = False
        call_headers = {"Accept": "application/json", **self.settings.agent.headers, **(headers or {})}
        while True:
            try:
                exchange = self._send(endpoint, method, self.settings.url(path), json=payload,
                                      headers=call_headers, authorized=True, idempotent=idempotent)
            except _TokenUnavailable as unavailable:
                attempts += unavailable.exchange.attempts
                record = _record(TOKEN, requested_at, started, unavailable.exchange, attempts, ERROR, None)
                # Nothing was sent to the endpoint itself: a send is surely not taken.
                return _CallResult(record, exchange=_Exchange(None, None, 0))
            attempts += exchange.attempts
            response = exchange.response
            if response is not None and response.status_code == 401 and not refreshed:
                # Revoked or expired earlier than announced: one new token, one more try.
                log.info("France Travail %s: HTTP 401, renewing the access token", endpoint)
                self._token, refreshed = None, True
                continue
            outcome, code, secret = _classify(endpoint, exchange)
            record = _record(endpoint, requested_at, started, exchange, attempts, outcome, code)
            return _CallResult(record, secret, exchange)

    def _send(self, endpoint: str, method: str, url: str, *, authorized: bool, idempotent: bool = True,
              headers: Mapping[str, str] | None = None, **kwargs: Any) -> _Exchange:
        """Send with retries on 429, 5xx and transport errors (for a non-idempotent call, only those
        France Travail surely did not act upon); returns how the last attempt ended."""
        settings = self.settings
        for attempt in range(1, settings.max_attempts + 1):
            attempt_headers = dict(headers or {})
            if authorized:
                # Asked at each attempt: a long wait may have outlived the token.
                attempt_headers["Authorization"] = f"Bearer {self._access_token()}"
            self._limiter.acquire()
            sent = time.monotonic()
            response: requests.Response | None = None
            error: BaseException | None = None
            try:
                response = self._session.request(method, url, headers=attempt_headers,
                                                 timeout=settings.timeout, **kwargs)
            except _RETRYABLE_EXCEPTIONS as exc:
                error = exc
            except requests.RequestException as exc:
                # Anything else (invalid URL, too many redirects...) will not get better by retrying.
                log.warning("France Travail %s: %s, not retried", endpoint, type(exc).__name__)
                return _Exchange(None, exc, attempt)
            elapsed_ms = int((time.monotonic() - sent) * 1000)
            status = response.status_code if response is not None else None
            what = status if status is not None else type(error).__name__
            log.debug("France Travail %s: %s after %d ms (attempt %d/%d)", endpoint, what, elapsed_ms, attempt,
                      settings.max_attempts)
            retryable = error is not None or status == 429 or (status is not None and status >= 500)
            if retryable and not idempotent and not _surely_not_taken(_Exchange(response, error, attempt)):
                log.warning("France Travail %s: %s, not retried (France Travail may have taken it)", endpoint, what)
                return _Exchange(response, error, attempt)
            if not retryable or attempt == settings.max_attempts:
                if retryable:
                    log.warning("France Travail %s: giving up after %d attempts (%s)", endpoint, attempt, what)
                return _Exchange(response, error, attempt)
            wait = self._backoff(attempt, response)
            log.info("France Travail %s: %s, attempt %d/%d, retrying in %.2f s", endpoint, what, attempt,
                     settings.max_attempts, wait)
            self._sleep(wait)
        raise AssertionError("unreachable: the loop returns on its last attempt")

    def _backoff(self, attempt: int, response: requests.Response | None) -> float:
        """Retry-After when the server gave one, else full jitter over an exponential ceiling."""
        settings = self.settings
        if response is not None:
            retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
            if retry_after is not None:
                return min(retry_after, settings.backoff_max)
        ceiling = min(settings.backoff_max, settings.backoff_base * 2 ** (attempt - 1))
        return self._rng.uniform(0, ceiling)

    # -- access token ----------------------------------------------------------------------------

    def _access_token(self) -> str:
        if self._token is not None and time.monotonic() < self._token_renew_at:
            return self._token
        settings = self.settings
        form = {"grant_type": "client_credentials", "client_id": settings.client_id,
                "client_secret": settings.client_secret, "scope": settings.scope}
        exchange = self._send(TOKEN, "POST", settings.access_token_url, data=form, authorized=False)
        response = exchange.response
        if response is not None and response.status_code in (400, 401):
            raise ApiAuthError(f"France Travail refused the client credentials (HTTP {response.status_code})")
        body = _json(response) if response is not None else None
        body = body if isinstance(body, dict) else {}
        token = body.get("access_token") if response is not None and response.status_code == 200 else None
        if not isinstance(token, str) or not token:
            raise _TokenUnavailable(exchange)
        lifetime = _as_float(body.get("expires_in"), default=300.0)
        # Renew a little before expiry, so that a token never dies between check and use.
        self._token_renew_at = time.monotonic() + lifetime - min(60.0, lifetime * 0.1)
        self._token = token
        log.debug("France Travail token: obtained, valid %.0f s", lifetime)
        return token


def _surely_not_taken(exchange: _Exchange) -> bool:
    """The request cannot have been acted upon: throttled, service unavailable, or never connected."""
    if exchange.response is not None:
        return exchange.response.status_code in _NOT_TAKEN_STATUSES
    error = exchange.error
    if error is None:
        return True  # nothing was sent (no access token)
    if isinstance(error, requests.ConnectTimeout):
        return True
    cause = error.args[0] if isinstance(error, requests.ConnectionError) and error.args else None
    return isinstance(cause, MaxRetryError) and isinstance(cause.reason, ConnectTimeoutError)


def _classify(endpoint: str, exchange: _Exchange) -> tuple[str, str | None, str]:
    """(outcome, business code, person token) of a call's final response."""
    response = exchange.response
    if response is None:
        return ERROR, None, ""
    body = _json(response)
    obj = body if isinstance(body, dict) else {}
    code = obj.get("codeRetour") if isinstance(obj.get("codeRetour"), str) else None
    status = response.status_code
    if code == "R998":
        return UNKNOWN_ADDRESS, code, ""
    if status == 403 or code == "R001":
        return ACCESS_REFUSED, code, ""
    if endpoint == SEARCH:
        if code in _NOT_FOUND_CODES:
            return _NOT_FOUND_CODES[code], code, ""
        if status == 404:
            return NO_CANDIDATE, code, ""
        jeton = obj.get("jetonUsager")
        if status == 200 and isinstance(jeton, str) and jeton:
            return FOUND, code, jeton
        return ERROR, code, ""
    if endpoint == READ_ORIENTATION:
        # 204, or a 200 with nothing in it: France Travail holds no orientation for the person.
        if status == 204 or (status == 200 and (body is None or body == [])):
            return NO_ORIENTATION, code, ""
        if status == 200 and isinstance(body, list) and isinstance(body[0], dict):
            return FOUND, code, ""
        return ERROR, code, ""
    if endpoint == SEND_ORIENTATION:
        if 200 <= status < 300:
            return SENT, code, ""
        if 400 <= status < 500 and status != 429:
            return REFUSED, code, ""
        return ERROR, code, ""
    return ERROR, code, ""


def _record(endpoint: str, requested_at: datetime, started: float, exchange: _Exchange, attempts: int,
            outcome: str, code: str | None) -> ResponseRecord:
    response = exchange.response
    if response is not None:
        body = _redacted(_landed_body(response))
    elif exchange.error is not None:
        body = {"error": type(exchange.error).__name__}  # class only: messages may quote the URL
    else:
        body = None
    return ResponseRecord(
        endpoint=endpoint,
        requested_at=requested_at,
        http_status=response.status_code if response is not None else None,
        business_code=code,
        outcome=outcome,
        attempts=attempts,
        elapsed_ms=int((time.monotonic() - started) * 1000),
        body=body,
    )


def _json(response: requests.Response) -> Any:
    """The response's JSON (any type), or None when it has none."""
    if not response.content.strip():
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _landed_body(response: requests.Response) -> Any:
    """What is landed of a response: its JSON as received, {"raw": text} when it is not JSON, None
    when it is empty (204)."""
    if not response.content.strip():
        return None
    parsed = _json(response)
    if parsed is None:
        return {"raw": response.text[:_RAW_BODY_LIMIT]}
    return parsed


def _redacted(body: Any) -> Any:
    if not isinstance(body, dict):
        return body
    return {key: ("[redacted]" if key in _SECRET_KEYS and value else value) for key, value in body.items()}


def _retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: delay-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _as_float(value: Any, *, default: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if number > 0 else default


# -- configuration from Airflow ------------------------------------------------------------------

_NUMERIC_EXTRAS: dict[str, Callable[[Any], Any]] = {
    "timeout": float,
    "max_attempts": int,
    "backoff_base": float,
    "backoff_max": float,
    "max_requests_per_second": float,
}


def settings_from_airflow_connection(conn: Any, agent: AgentIdentity | None = None) -> ApiSettings:
    """ApiSettings from an Airflow Connection (id ``france_travail_api``).

    host (a bare host or a full URL), port and schema make the base URL, to which the API's paths
    (``/partenaire/...``) are appended: schema ``http``/``https`` is the scheme (as for Airflow's HTTP
    connections), any other schema is a path prefix. Without a scheme from host or schema, extra
    ``scheme``, then conn_type ``http``/``https``, else https. login → client_id, password →
    client_secret; extra JSON: scope (default :data:`DEFAULT_SCOPE`), token_url (the full URL of
    France Travail's token endpoint, realm included), timeout, max_attempts, backoff_base,
    backoff_max, max_requests_per_second (numbers may be strings, as they are when the connection
    comes from a URI). The agent named in the calls comes from the settings (:func:`agent_from_config`).
    """
    extra = _extra_of(conn)
    host = (conn.host or "").strip()
    if not host:
        raise ValueError("the France Travail connection has no host")
    schema = (conn.schema or "").strip().strip("/")
    if "://" in host:
        base_url = host.rstrip("/")
    else:
        if schema.lower() in ("http", "https"):
            scheme, schema = schema.lower(), ""
        elif extra.get("scheme"):
            scheme = str(extra["scheme"]).lower()
        elif (conn.conn_type or "").lower() in ("http", "https"):
            scheme = conn.conn_type.lower()
        else:
            scheme = "https"
        port = f":{conn.port}" if conn.port else ""
        base_url = f"{scheme}://{host}{port}"
    if schema:
        base_url = f"{base_url}/{schema}"
    if not conn.login or not conn.password:
        raise ValueError("the France Travail connection needs login (client id) and password (client secret)")
    options = {key: cast(extra[key]) for key, cast in _NUMERIC_EXTRAS.items() if extra.get(key) not in (None, "")}
    return ApiSettings(
        base_url=base_url,
        client_id=conn.login,
        client_secret=conn.password,
        scope=str(extra.get("scope") or DEFAULT_SCOPE),
        token_url=str(extra["token_url"]) if extra.get("token_url") else None,
        agent=agent or agent_from_config(),
        **options,
    )


def agent_from_config() -> AgentIdentity:
    """The agent named in the calls: AIGUILLAGE_FT_AGENT_ID / _NOM / _PRENOM, batch defaults."""
    from aiguillage import config

    return AgentIdentity(*config.france_travail_agent())


def settings_from_airflow(conn_id: str = FRANCE_TRAVAIL_API_CONN_ID) -> ApiSettings:
    """ApiSettings from the Airflow connection `conn_id`, read at task run time (never at parse time)."""
    from airflow.sdk import Connection  # heavy import, only inside a running task

    return settings_from_airflow_connection(Connection.get(conn_id))


def _extra_of(conn: Any) -> dict[str, Any]:
    extra = getattr(conn, "extra_dejson", None)
    if isinstance(extra, dict):
        return extra
    raw = getattr(conn, "extra", None)
    return json.loads(raw) if raw else {}
