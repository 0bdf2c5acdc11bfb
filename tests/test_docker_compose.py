"""Structure of the container deployment: docker-compose.yml, docker/airflow.Dockerfile, .env.example.

Nothing is built or started (no container engine runs where the tests run): the compose file is parsed
with yaml.safe_load (which resolves the YAML anchors and `<<:` merge keys), and its `${VAR}`
references are resolved with the values of .env.example by the small interpolator below, which
follows Docker Compose's rules ($$, ${VAR}, $VAR, :- - :? ? :+ +, nested defaults).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "docker" / "airflow.Dockerfile"
LOCK_FILE = ROOT / "requirements.lock"

INIT = "airflow-init"
API_SERVER = "airflow-apiserver"
METADATA_DB = "airflow-metadata-db"
WAREHOUSE_DB = "warehouse-db"
REDIS = "redis"
LONG_RUNNING_AIRFLOW = (
    API_SERVER,
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
)
AIRFLOW_SERVICES = (INIT, *LONG_RUNNING_AIRFLOW)
REQUIRED_SERVICES = (*AIRFLOW_SERVICES, REDIS, METADATA_DB, WAREHOUSE_DB)
POSTGRES_DATA = "/var/lib/postgresql/data"


# --------------------------------------------------------------------------------------------------
# A tiny Docker Compose interpolator
# --------------------------------------------------------------------------------------------------
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")


class MissingVariableError(ValueError):
    """A `${VAR:?message}` / `${VAR?message}` whose variable is missing."""


@dataclass(frozen=True)
class _Var:
    name: str
    operator: str = ""
    argument: tuple = ()  # parsed tokens of the default / message / replacement


def _parse(text: str) -> tuple:
    """Split a string into literal parts and _Var references."""
    tokens: list = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        if text[i] != "$":
            literal.append(text[i])
            i += 1
            continue
        following = text[i + 1 : i + 2]
        if following == "$":  # $$ is a literal dollar sign
            literal.append("$")
            i += 2
            continue
        if following == "{":
            depth, end = 1, i + 2
            while end < len(text) and depth:
                depth += {"{": 1, "}": -1}.get(text[end], 0)
                end += 1
            if depth:
                raise ValueError(f"unclosed ${{ in {text!r}")
            body = text[i + 2 : end - 1]
            match = _NAME.match(body)
            if not match:
                raise ValueError(f"invalid interpolation ${{{body}}}")
            rest = body[match.end() :]
            operator = next((op for op in _OPERATORS if rest.startswith(op)), "")
            if rest and not operator:
                raise ValueError(f"unsupported interpolation ${{{body}}}")
            tokens.extend(["".join(literal), _Var(match.group(), operator, _parse(rest[len(operator) :]))])
            literal = []
            i = end
            continue
        match = _NAME.match(text, i + 1)
        if match:
            tokens.extend(["".join(literal), _Var(match.group())])
            literal = []
            i = match.end()
            continue
        literal.append("$")
        i += 1
    tokens.append("".join(literal))
    return tuple(token for token in tokens if token != "")


def _evaluate(tokens: tuple, env: dict[str, str]) -> str:
    out: list[str] = []
    for token in tokens:
        if isinstance(token, str):
            out.append(token)
            continue
        value = env.get(token.name)
        is_set, non_empty = value is not None, bool(value)
        present = non_empty if token.operator.startswith(":") else is_set
        operator = token.operator.lstrip(":")
        if operator == "":
            out.append(value or "")
        elif operator == "-":
            out.append(value if present else _evaluate(token.argument, env))
        elif operator == "?":
            if not present:
                raise MissingVariableError(f"{token.name}: {_evaluate(token.argument, env)}")
            out.append(value)
        else:  # "+"
            out.append(_evaluate(token.argument, env) if present else "")
    return "".join(out)


def interpolate(text: str, env: dict[str, str]) -> str:
    return _evaluate(_parse(text), env)


def variable_names(text: str) -> set[str]:
    """Every variable a string refers to, nested defaults included."""
    names: set[str] = set()

    def walk(tokens: tuple) -> None:
        for token in tokens:
            if isinstance(token, _Var):
                names.add(token.name)
                walk(token.argument)

    walk(_parse(text))
    return names


def resolve(node, env: dict[str, str]):
    """Interpolate every string value of a loaded compose document (keys are left alone)."""
    if isinstance(node, dict):
        return {key: resolve(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(value, env) for value in node]
    if isinstance(node, str):
        return interpolate(node, env)
    return node


def strings_of(node):
    if isinstance(node, dict):
        for value in node.values():
            yield from strings_of(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings_of(value)
    elif isinstance(node, str):
        yield node


# --------------------------------------------------------------------------------------------------
# Loading the files
# --------------------------------------------------------------------------------------------------
_ASSIGNMENT = re.compile(r"^(#\s*)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


@dataclass(frozen=True)
class EnvExample:
    values: dict[str, str]  # active assignments
    documented: frozenset[str]  # active assignments + commented-out example assignments
    undocumented: tuple[str, ...]  # active assignments without a comment line right above them


@cache
def env_example() -> EnvExample:
    values: dict[str, str] = {}
    documented: set[str] = set()
    undocumented: list[str] = []
    previous = ""
    for raw in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        match = _ASSIGNMENT.match(line)
        if match:
            commented, name, value = match.groups()
            documented.add(name)
            if not commented:
                value = value.strip()
                if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                    value = value[1:-1]
                values[name] = value
                if not previous.startswith("#"):
                    undocumented.append(name)
        previous = line
    return EnvExample(values, frozenset(documented), tuple(undocumented))


@cache
def raw_compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def compose(**overrides: str | None) -> dict:
    env = dict(env_example().values)
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return resolve(raw_compose(), env)


@cache
def resolved() -> dict:
    return compose()


def service(name: str, document: dict | None = None) -> dict:
    return (document or resolved())["services"][name]


def environment(svc: dict) -> dict[str, str]:
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def depends_on(svc: dict) -> dict:
    deps = svc.get("depends_on") or {}
    assert isinstance(deps, dict), "use the long depends_on syntax, with conditions"
    return deps


def volume_mounts(svc: dict) -> dict[str, tuple[str, str]]:
    """target -> (source, mode), for the short volume syntax."""
    mounts = {}
    for entry in svc.get("volumes") or []:
        assert isinstance(entry, str), f"unexpected long volume syntax: {entry!r}"
        source, target, *mode = entry.split(":")
        mounts[target] = (source, mode[0] if mode else "rw")
    return mounts


def healthcheck_text(svc: dict) -> str:
    test = (svc.get("healthcheck") or {}).get("test")
    return " ".join(test) if isinstance(test, list) else str(test or "")


def image_tag(image: str) -> str:
    name, _, tag = image.rpartition(":")
    return tag if name and "/" not in tag else ""


def lock_version(package: str) -> str:
    match = re.search(rf"^{re.escape(package)}==([^\s;]+)", LOCK_FILE.read_text(encoding="utf-8"), re.M)
    assert match, f"{package} is not pinned in requirements.lock"
    return match.group(1)


# --------------------------------------------------------------------------------------------------
# The interpolator itself
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${A}-$A-$$A-$${A}", "a-a-$A-${A}"),
        ("${MISSING:-x}${EMPTY:-y}${EMPTY-z}", "xy"),
        ("${A:+set}${EMPTY:+no}${EMPTY+yes}", "setyes"),
        ("${MISSING:-p://${A}:${MISSING2:-5432}/db}", "p://a:5432/db"),
        ("${A:?never raised}", "a"),
        ("cost: $5 and $", "cost: $5 and $"),
    ],
)
def test_interpolator_follows_compose_rules(text: str, expected: str) -> None:
    assert interpolate(text, {"A": "a", "EMPTY": ""}) == expected


def test_interpolator_reports_required_variables_and_nested_names() -> None:
    with pytest.raises(MissingVariableError, match="B: set B"):
        interpolate("${B:?set B}", {"B": ""})
    assert variable_names("${X:-${Y}:$$Z:$W}") == {"X", "Y", "W"}


# --------------------------------------------------------------------------------------------------
# Services, images, health checks, start order
# --------------------------------------------------------------------------------------------------
def test_required_services_are_present() -> None:
    missing = set(REQUIRED_SERVICES) - set(resolved()["services"])
    assert not missing


def test_every_image_is_pinned() -> None:
    for name, svc in resolved()["services"].items():
        image = svc.get("image", "")
        tag = image_tag(image)
        assert tag and tag != "latest", f"{name}: image {image!r} is not pinned"
        if name not in AIRFLOW_SERVICES:
            # postgres 16.9 is a patch release; redis 7.2.8 too.
            assert re.match(r"^\d+\.\d+", tag), f"{name}: pin a release, not {tag!r}"
    assert image_tag(service(REDIS)["image"]).startswith("7.2.")
    assert service(REDIS)["image"].startswith("redis:")
    for db in (METADATA_DB, WAREHOUSE_DB):
        assert service(db)["image"].startswith("postgres:16.")


def test_airflow_services_run_the_project_image_built_from_the_dockerfile() -> None:
    images = {service(name)["image"] for name in AIRFLOW_SERVICES}
    assert images == {f"aiguillage-airflow:{env_example().values['AIGUILLAGE_IMAGE_TAG']}"}
    for name in AIRFLOW_SERVICES:
        build = service(name)["build"]
        assert (ROOT / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE


def test_dockerfile_is_pinned_to_airflow_3_3_and_matches_the_lock() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    froms = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert len(froms) == 1
    match = re.fullmatch(r"apache/airflow:(3\.3\.\d+)-python3\.11", froms[0])
    assert match, f"FROM {froms[0]} is not a pinned Airflow 3.3.x / Python 3.11 image"
    assert match.group(1) == lock_version("apache-airflow"), "base image and lock disagree on Airflow"
    assert re.search(r"pip install --no-cache-dir -r \S*requirements\.lock", text)
    # The Celery executor's provider comes with the lock, like everything else.
    assert lock_version("apache-airflow-providers-celery")
    assert re.search(r"pip install --no-cache-dir --no-deps \S+", text)
    # pip runs as the airflow user (the image refuses pip as root).
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1] == "airflow"


def test_long_running_services_have_health_checks() -> None:
    for name, svc in resolved()["services"].items():
        if name == INIT:
            continue
        check = svc.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} has no health check"
        assert healthcheck_text(svc).split()[0] != "NONE", f"{name} disables its health check"
    api = healthcheck_text(service(API_SERVER))
    assert "/api/v2/version" in api or "/api/v2/monitor/health" in api
    assert "localhost:8974/health" in healthcheck_text(service("airflow-scheduler"))
    assert "inspect ping" in healthcheck_text(service("airflow-worker"))
    assert "redis-cli ping" in healthcheck_text(service(REDIS))
    for db in (METADATA_DB, WAREHOUSE_DB):
        assert "pg_isready" in healthcheck_text(service(db))


def test_airflow_services_wait_for_init_metadata_db_and_redis() -> None:
    for name in AIRFLOW_SERVICES:
        deps = depends_on(service(name))
        assert deps[METADATA_DB]["condition"] == "service_healthy", name
        assert deps[REDIS]["condition"] == "service_healthy", name
        if name != INIT:
            assert deps[INIT]["condition"] == "service_completed_successfully", name
    assert depends_on(service("airflow-worker"))[API_SERVER]["condition"] == "service_healthy"


def test_restart_policies() -> None:
    for name, svc in resolved()["services"].items():
        if name == INIT:
            assert str(svc.get("restart", "no")) == "no", "airflow-init is a one-shot job"
        else:
            assert svc.get("restart") in {"always", "unless-stopped", "on-failure"}, name


def test_airflow_init_migrates_and_creates_the_france_travail_pool() -> None:
    script = " ".join(strings_of(service(INIT).get("command")))
    assert "airflow db migrate" in script
    assert re.search(r"airflow pools set france_travail_api 2 ", script)


# --------------------------------------------------------------------------------------------------
# Databases and volumes
# --------------------------------------------------------------------------------------------------
def test_databases_have_their_own_named_volumes() -> None:
    declared = set(resolved().get("volumes") or {})
    sources = []
    for db in (METADATA_DB, WAREHOUSE_DB):
        source, _ = volume_mounts(service(db))[POSTGRES_DATA]
        assert source in declared, f"{db}: {source!r} is not a named volume"
        sources.append(source)
    assert sources[0] != sources[1]


def test_warehouse_is_a_separate_server_from_the_metadata_db() -> None:
    env = environment(service("airflow-scheduler"))
    assert urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).hostname == METADATA_DB
    assert urlsplit(env["AIRFLOW__CELERY__RESULT_BACKEND"]).hostname == METADATA_DB
    assert urlsplit(env["AIRFLOW__CELERY__BROKER_URL"]).hostname == REDIS
    assert urlsplit(env["AIGUILLAGE_WAREHOUSE_URL"]).hostname == WAREHOUSE_DB
    metadata, warehouse = environment(service(METADATA_DB)), environment(service(WAREHOUSE_DB))
    assert (
        volume_mounts(service(METADATA_DB))[POSTGRES_DATA]
        != volume_mounts(service(WAREHOUSE_DB))[POSTGRES_DATA]
    )
    assert (metadata["POSTGRES_USER"], metadata["POSTGRES_PASSWORD"]) != (
        warehouse["POSTGRES_USER"],
        warehouse["POSTGRES_PASSWORD"],
    ), "the warehouse and the metadata DB must not share credentials"


def test_project_folders_and_data_folders_are_mounted() -> None:
    expected = {
        "/opt/airflow/dags": "./dags",
        "/opt/airflow/plugins": "./plugins",
        "/opt/aiguillage/dbt_project": "./dbt_project",
        "/opt/aiguillage/expectations": "./expectations",
    }
    declared = set(resolved().get("volumes") or {})
    for name in LONG_RUNNING_AIRFLOW:
        svc = service(name)
        mounts, env = volume_mounts(svc), environment(svc)
        for target, source in expected.items():
            assert mounts.get(target, ("", ""))[0] == source, f"{name}: {source} not mounted on {target}"
        landing = env["AIGUILLAGE_LANDING_DIR"]
        assert mounts[landing][1] == "ro", f"{name}: the landing folder must be read-only"
        assert mounts[env["AIGUILLAGE_OUTBOX_DIR"]][1] == "rw"
        assert mounts[env["AIGUILLAGE_HOME"]][0] in declared, "the state folder lives in a named volume"
        assert env["AIGUILLAGE_PSEUDONYMISATION_KEY"]


# --------------------------------------------------------------------------------------------------
# One warehouse setting
# --------------------------------------------------------------------------------------------------
EXTERNAL_URL = "postgresql://dwh_user:s%40fe@dwh.example.org:6432/aiguillage?sslmode=require"


@pytest.mark.parametrize("override", [None, EXTERNAL_URL], ids=["bundled-warehouse", "external-warehouse"])
def test_airflow_connection_and_warehouse_url_are_the_same_value(override: str | None) -> None:
    document = compose(AIGUILLAGE_WAREHOUSE_URL=override)
    values = set()
    for name in AIRFLOW_SERVICES:
        env = environment(service(name, document))
        url = env["AIGUILLAGE_WAREHOUSE_URL"]
        assert url and url == env["AIRFLOW_CONN_AIGUILLAGE_WAREHOUSE"], name
        values.add(url)
    assert len(values) == 1
    if override:
        assert values == {override}


def test_warehouse_url_matches_the_warehouse_db_service() -> None:
    url = urlsplit(environment(service("airflow-worker"))["AIGUILLAGE_WAREHOUSE_URL"])
    db_env = environment(service(WAREHOUSE_DB))
    assert url.scheme in {"postgresql", "postgres"}
    assert url.hostname == WAREHOUSE_DB
    assert (url.port or 5432) == 5432
    assert unquote(url.username or "") == db_env["POSTGRES_USER"]
    assert unquote(url.password or "") == db_env["POSTGRES_PASSWORD"]
    assert url.path.lstrip("/") == db_env["POSTGRES_DB"]


def test_no_second_place_holds_warehouse_credentials() -> None:
    # Each warehouse credential appears on exactly two lines of the compose file: warehouse-db's
    # POSTGRES_* and the single URL expression (the Airflow connection is a YAML alias of it).
    lines = [
        line
        for line in COMPOSE_FILE.read_text(encoding="utf-8").splitlines()
        if not line.lstrip().startswith("#")
    ]
    for name in ("WAREHOUSE_DB_USER", "WAREHOUSE_DB_PASSWORD", "WAREHOUSE_DB_NAME"):
        assert sum(name in variable_names(line) for line in lines) == 2, name
    expressions = {
        (env["AIGUILLAGE_WAREHOUSE_URL"], env["AIRFLOW_CONN_AIGUILLAGE_WAREHOUSE"])
        for env in (environment(svc) for svc in raw_compose()["services"].values())
        if "AIGUILLAGE_WAREHOUSE_URL" in env
    }
    assert len(expressions) == 1 and len(set(next(iter(expressions)))) == 1
    # .env.example neither sets the Airflow connection nor (actively) a second copy of the URL.
    assert not any(name.startswith("AIRFLOW_CONN_") for name in env_example().values)
    assert "AIGUILLAGE_WAREHOUSE_URL" not in env_example().values


# --------------------------------------------------------------------------------------------------
# Settings and .env.example
# --------------------------------------------------------------------------------------------------
def test_every_compose_variable_is_documented_in_env_example() -> None:
    used = set().union(*(variable_names(text) for text in strings_of(raw_compose())))
    example = env_example()
    assert not used - example.documented, "document these in .env.example"
    assert not set(example.values) - used, "these .env.example settings are not used by docker-compose.yml"
    assert not example.undocumented, "put a comment line right above each setting"


@pytest.mark.parametrize(
    "secret",
    [
        "AIRFLOW_FERNET_KEY",
        "AIRFLOW_API_SECRET_KEY",
        "AIRFLOW_JWT_SECRET",
        "AIRFLOW_ADMIN_PASSWORD",
        "AIRFLOW_DB_PASSWORD",
        "WAREHOUSE_DB_PASSWORD",
        "AIGUILLAGE_PSEUDONYMISATION_KEY",
    ],
)
def test_compose_refuses_to_start_without_a_secret(secret: str) -> None:
    assert env_example().values[secret], f"{secret} needs a placeholder in .env.example"
    with pytest.raises(MissingVariableError, match=secret):
        compose(**{secret: ""})


def test_env_file_is_used_and_git_ignored() -> None:
    for name in AIRFLOW_SERVICES:
        assert service(name).get("env_file") in (".env", [".env"]), name
    ignored = {line.strip() for line in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()}
    assert ".env" in ignored


def test_airflow_settings_are_shared_by_every_airflow_service() -> None:
    reference = environment(service("airflow-scheduler"))
    for name in AIRFLOW_SERVICES:
        env = environment(service(name))
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__CORE__LOAD_EXAMPLES"].lower() == "false", name
        assert env["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"].lower() == "false", name
        assert env["AIRFLOW__CORE__PARALLELISM"] == "4", name
        assert float(env["AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME"]) <= 1, name
        assert env["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"].lower() == "true", name
        for key in (
            "AIRFLOW__CORE__FERNET_KEY",
            "AIRFLOW__API__SECRET_KEY",
            "AIRFLOW__API_AUTH__JWT_SECRET",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
            "AIRFLOW__CELERY__BROKER_URL",
            "AIRFLOW__CELERY__RESULT_BACKEND",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
        ):
            assert env[key] and env[key] == reference[key], f"{name}: {key}"


def test_execution_api_url_points_at_the_api_server() -> None:
    url = urlsplit(environment(service("airflow-worker"))["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert url.hostname == API_SERVER
    container_ports = {str(port).rsplit(":", 1)[-1] for port in service(API_SERVER).get("ports", [])}
    assert str(url.port) in container_ports
    assert f"localhost:{url.port}/" in healthcheck_text(service(API_SERVER))
    assert url.path == "/execution/"
