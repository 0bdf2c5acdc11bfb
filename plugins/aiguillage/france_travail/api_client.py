"""Client of the France Travail partner API (or of its local stand-in, same endpoints).

A lookup is: search the person by (birth date, NIR15) → on S001, read their registration and their
orientation with the person token (``jetonUsager``). Each call ends as one :class:`ResponseRecord`
(its final response, with the number of attempts it took) so that the sync can land it as received.

What the API's quirks become:

- S002 (no candidate) and S003 (several candidates) come with HTTP 200: they are results
  (``NO_CANDIDATE``, ``SEVERAL_CANDIDATES``), not errors;
- 403 / R001 → ``ACCESS_REFUSED`` and R998 (no address at France Travail, whatever the HTTP
  status) → ``UNKNOWN_ADDRESS``: both final, never retried;
- 429, 5xx, connection errors and timeouts are retried with exponential backoff and full jitter
  (``Retry-After`` honoured, capped at ``backoff_max``), up to ``max_attempts``; then ``ERROR`` is
  returned, never raised, so the sync records it and goes on;
- a 401 drops the cached access token, fetches a new one and retries once.

Only wrong credentials raise (:class:`ApiAuthError`): nothing can succeed until the connection is fixed.

Never logged: NIRs (they travel in the POST body, never in a URL, since urllib3 logs URLs), access
tokens, person tokens, client secrets. Logs say endpoint, status, attempt and elapsed time. Person
tokens are also blanked in the recorded bodies: a record is data, a token is a credential.

Production URL and credentials come only from the ``france_travail_api`` Airflow connection
(:func:`settings_from_airflow_connection`), never from code.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import requests

from aiguillage.dag_defaults import FRANCE_TRAVAIL_API_CONN_ID

log = logging.getLogger(__name__)

TOKEN_PATH = "/connexion/oauth2/access_token"
SEARCH_PATH = "/rechercher-usager/v2/usagers/par-datenaissance-et-nir"
REGISTRATION_PATH = "/inscription-usager/v1/inscription"
ORIENTATION_PATH = "/orientation-usager/v1/orientation"
PERSON_TOKEN_HEADER = "ft-jeton-usager"

# Outcomes, as allowed in raw.france_travail_api_call.outcome.
FOUND = "FOUND"
NO_CANDIDATE = "NO_CANDIDATE"
SEVERAL_CANDIDATES = "SEVERAL_CANDIDATES"
ACCESS_REFUSED = "ACCESS_REFUSED"
UNKNOWN_ADDRESS = "UNKNOWN_ADDRESS"
ERROR = "ERROR"
OUTCOMES = (FOUND, NO_CANDIDATE, SEVERAL_CANDIDATES, ACCESS_REFUSED, UNKNOWN_ADDRESS, ERROR)

_SEARCH_CODES = {"S001": FOUND, "S002": NO_CANDIDATE, "S003": SEVERAL_CANDIDATES}
_RETRYABLE_EXCEPTIONS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
_SECRET_KEYS = ("jetonUsager", "access_token", "refresh_token")
_RAW_BODY_LIMIT = 2000
# Batch calls identify themselves to France Travail instead of naming an agent.
_BATCH_HEADERS = {"pa-identifiant-agent": "BATCH", "pa-nom-agent": "Aiguillage", "pa-prenom-agent": "Aiguillage"}


class ApiAuthError(RuntimeError):
    """The API refused our client credentials: configuration to fix, retrying cannot help."""


@dataclass(frozen=True)
class ApiSettings:
    base_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scope: str = ""
    timeout: float = 10.0  # seconds, per HTTP request
    max_attempts: int = 5  # per call, retryable failures included
    backoff_base: float = 0.5  # seconds; attempt n waits up to base * 2**(n-1)
    backoff_max: float = 30.0  # cap of a wait, Retry-After included
    max_requests_per_second: float = 5.0  # 0 or less: unbounded
    token_url: str | None = None  # France Travail serves tokens from another host than the API

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
    (timeout, connection error).
    """

    endpoint: str  # search, registration, orientation; token when no access token could be had
    requested_at: datetime
    http_status: int | None
    business_code: str | None
    outcome: str
    attempts: int
    elapsed_ms: int
    body: dict[str, Any]


@dataclass
class LookupResult:
    outcome: str
    records: list[ResponseRecord]
    orientation: dict[str, Any] | None = None
    registration: dict[str, Any] | None = None

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

    # -- the lookup ------------------------------------------------------------------------------

    def lookup(self, nir15: str, birth_date: date) -> LookupResult:
        """Search the person, then read registration and orientation if found. Never raises for
        API failures (only :class:`ApiAuthError` for refused credentials)."""
        nir = nir15.strip().upper()
        if len(nir) != 15:
            raise ValueError("the France Travail search needs a 15-character NIR")  # the NIR stays out
        search = self._call("search", "POST", SEARCH_PATH,
                            payload={"dateNaissance": birth_date.isoformat(), "nir": nir})
        records = [search.record]
        if search.record.outcome != FOUND:
            return LookupResult(search.record.outcome, records)
        jeton = search.secret
        result = LookupResult(FOUND, records)
        for endpoint, path in (("registration", REGISTRATION_PATH), ("orientation", ORIENTATION_PATH)):
            call = self._call(endpoint, "GET", path, headers={PERSON_TOKEN_HEADER: jeton})
            records.append(call.record)
            if call.record.outcome != FOUND:
                # Stop at the first failure: the person's picture is incomplete, the outcome says why.
                result.outcome = call.record.outcome
                break
            setattr(result, endpoint, call.record.body)
        log.debug("France Travail lookup: %s in %d requests", result.outcome, result.requests)
        return result

    # -- one call --------------------------------------------------------------------------------

    def _call(self, endpoint: str, method: str, path: str, *, payload: Any = None,
              headers: Mapping[str, str] | None = None) -> _CallResult:
        requested_at = datetime.now(UTC)
        started = time.monotonic()
        attempts = 0
        refreshed = False
        while True:
            try:
                exchange = self._send(endpoint, method, self.settings.url(path), json=payload,
                                      headers={**_BATCH_HEADERS, **(headers or {})}, authorized=True)
            except _TokenUnavailable as unavailable:
                exchange, endpoint = unavailable.exchange, "token"
                attempts += exchange.attempts
                return _CallResult(_record(endpoint, requested_at, started, exchange, attempts, ERROR, None))
            attempts += exchange.attempts
            response = exchange.response
            if response is not None and response.status_code == 401 and not refreshed:
                # Revoked or expired earlier than announced: one new token, one more try.
                log.info("France Travail %s: HTTP 401, renewing the access token", endpoint)
                self._token, refreshed = None, True
                continue
            outcome, code, secret = _classify(endpoint, exchange)
            return _CallResult(_record(endpoint, requested_at, started, exchange, attempts, outcome, code), secret)

    def _send(self, endpoint: str, method: str, url: str, *, authorized: bool,
              headers: Mapping[str, str] | None = None, **kwargs: Any) -> _Exchange:
        """Send with retries on 429, 5xx and transport errors; returns how the last attempt ended."""
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
            log.debug("France Travail %s: %s after %d ms (attempt %d/%d)", endpoint,
                      status if status is not None else type(error).__name__, elapsed_ms, attempt,
                      settings.max_attempts)
            retryable = error is not None or status == 429 or (status is not None and status >= 500)
            if not retryable or attempt == settings.max_attempts:
                if retryable:
                    log.warning("France Travail %s: giving up after %d attempts (%s)", endpoint, attempt,
                                status if status is not None else type(error).__name__)
                return _Exchange(response, error, attempt)
            wait = self._backoff(attempt, response)
            log.info("France Travail %s: %s, attempt %d/%d, retrying in %.2f s", endpoint,
                     status if status is not None else type(error).__name__, attempt,
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
        exchange = self._send("token", "POST", settings.access_token_url, data=form, authorized=False)
        response = exchange.response
        if response is not None and response.status_code in (400, 401):
            raise ApiAuthError(f"France Travail refused the client credentials (HTTP {response.status_code})")
        body = _body(response) if response is not None else {}
        token = body.get("access_token") if response is not None and response.status_code == 200 else None
        if not isinstance(token, str) or not token:
            raise _TokenUnavailable(exchange)
        lifetime = _as_float(body.get("expires_in"), default=300.0)
        # Renew a little before expiry, so that a token never dies between check and use.
        self._token_renew_at = time.monotonic() + lifetime - min(60.0, lifetime * 0.1)
        self._token = token
        log.debug("France Travail token: obtained, valid %.0f s", lifetime)
        return token


@dataclass
class _CallResult:
    record: ResponseRecord
    secret: str = field(default="", repr=False)  # the person token of a successful search


def _classify(endpoint: str, exchange: _Exchange) -> tuple[str, str | None, str]:
    """(outcome, business code, person token) of a call's final response."""
    response = exchange.response
    if response is None:
        return ERROR, None, ""
    body = _json_object(response)
    code = body.get("codeRetour") if body is not None and isinstance(body.get("codeRetour"), str) else None
    status = response.status_code
    if code == "R998":
        return UNKNOWN_ADDRESS, code, ""
    if status == 403 or code == "R001":
        return ACCESS_REFUSED, code, ""
    if status != 200 or body is None:
        return ERROR, code, ""
    if endpoint != "search":
        return FOUND, code, ""
    outcome = _SEARCH_CODES.get(code or "", ERROR)
    jeton = body.get("jetonUsager")
    if outcome == FOUND and not (isinstance(jeton, str) and jeton):
        return ERROR, code, ""
    return outcome, code, jeton if outcome == FOUND else ""


def _record(endpoint: str, requested_at: datetime, started: float, exchange: _Exchange, attempts: int,
            outcome: str, code: str | None) -> ResponseRecord:
    response = exchange.response
    if response is not None:
        body = _redacted(_body(response))
    else:
        body = {"error": type(exchange.error).__name__}  # class only: messages may quote the URL
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


def _json_object(response: requests.Response) -> dict[str, Any] | None:
    try:
        parsed = response.json()
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _body(response: requests.Response) -> dict[str, Any]:
    """The JSON object of a response, or {"raw": text} when it is not one."""
    parsed = _json_object(response)
    return parsed if parsed is not None else {"raw": response.text[:_RAW_BODY_LIMIT]}


def _redacted(body: dict[str, Any]) -> dict[str, Any]:
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


def settings_from_airflow_connection(conn: Any) -> ApiSettings:
    """ApiSettings from an Airflow Connection (id ``france_travail_api``).

    host (a bare host or a full URL), port and schema make the base URL: schema ``http``/``https``
    is the scheme (as for Airflow's HTTP connections), any other schema is a path prefix. Without
    a scheme from host or schema, extra ``scheme``, then conn_type ``http``/``https``, else https.
    login → client_id, password → client_secret; extra JSON: scope, token_url, timeout,
    max_attempts, backoff_base, backoff_max, max_requests_per_second (numbers may be strings, as
    they are when the connection comes from a URI).
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
        scope=str(extra.get("scope") or ""),
        token_url=str(extra["token_url"]) if extra.get("token_url") else None,
        **options,
    )


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
