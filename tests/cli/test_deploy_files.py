"""deploy/docker-compose.yml and deploy/Dockerfile say what gsm-cloud really does.

No Docker daemon is needed: the compose file is parsed as YAML, its commands are parsed by
gsm-cloud's own command line, its variables must each change gsm-cloud's settings (or be one
uvicorn reads), and its `migrate` and `serve` commands are run, as written but for the
database, folder and port, against a scratch PostgreSQL database (GSM_TEST_DATABASE_URL, as
.ci/run sets it).
"""

import contextlib
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
import yaml

from gsm_cloud.cli import app as cloud_app
from gsm_cloud.config import load_settings
from tests.conftest import free_port, wait_for

DEPLOY = Path(__file__).parents[2] / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
DOCKERFILE = DEPLOY / "Dockerfile"
PASSWORD = "0123abcd"
# Variables of the API's environment that gsm-cloud itself does not read, and who does.
READ_BY_UVICORN = {"FORWARDED_ALLOW_IPS"}


def compose() -> dict[str, Any]:
    text = COMPOSE.read_text(encoding="utf-8")
    # Compose's own interpolation, for the forms the file uses: ${VAR} and ${VAR:?message}.
    text = re.sub(r"\$\{POSTGRES_PASSWORD(?::\?[^}]*)?\}", PASSWORD, text)
    assert "${" not in text, "a variable the test does not interpolate"
    return yaml.safe_load(text)


def parse_cloud_command(args: list[str]) -> tuple[str, dict[str, Any]]:
    """Parse args with gsm-cloud's real command line; its parameters, or a usage error."""
    group = typer.main.get_command(cloud_app)
    name, *rest = args
    command = group.commands[name]  # type: ignore[attr-defined]
    ctx = command.make_context(name, list(rest))
    return name, ctx.params


def dockerfile_json(instruction: str) -> list[str]:
    lines = DOCKERFILE.read_text(encoding="utf-8").splitlines()
    found = [line for line in lines if line.startswith(instruction + " ")]
    assert len(found) == 1, instruction
    return json.loads(found[0][len(instruction) + 1 :])


def test_the_services_and_their_order() -> None:
    services = compose()["services"]
    assert set(services) == {"db", "migrate", "api"}
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["restart"] == "no"
    # Both run the image of deploy/Dockerfile.
    for name in ("migrate", "api"):
        assert services[name]["build"]["dockerfile"] == "deploy/Dockerfile"
        assert (COMPOSE.parent / services[name]["build"]["context"] / "deploy/Dockerfile").is_file()


def test_compose_itself_accepts_the_file(tmp_path: Path) -> None:
    """Where a Compose program is installed (docker-compose, or the docker compose plugin; no
    daemon needed), its `config` validates the file against the Compose schema. Elsewhere the
    YAML checks of this module stand alone."""
    env = {**os.environ, "POSTGRES_PASSWORD": PASSWORD}
    programs = []
    if shutil.which("docker-compose"):
        programs.append(["docker-compose"])
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            programs.append(["docker", "compose"])
    for program in programs:
        done = subprocess.run(
            [*program, "-f", str(COMPOSE), "config", "--quiet"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        # And without the password, it refuses with the guide's message.
        env_without = {k: v for k, v in env.items() if k != "POSTGRES_PASSWORD"}
        refused = subprocess.run(
            [*program, "-f", str(COMPOSE), "config", "--quiet"],
            env=env_without,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert refused.returncode != 0
        assert "set POSTGRES_PASSWORD in deploy/.env" in refused.stderr


def test_the_commands_are_gsm_clouds_own() -> None:
    services = compose()["services"]
    assert parse_cloud_command(services["migrate"]["command"]) == ("migrate", {})
    name, params = parse_cloud_command(services["api"]["command"])
    assert name == "serve"
    assert params["host"] == "0.0.0.0" and params["port"] == 8000 and params["workers"] > 1
    # The image's default command parses too, and the entry point is the gsm-cloud program.
    assert dockerfile_json("ENTRYPOINT") == ["gsm-cloud"]
    assert parse_cloud_command(dockerfile_json("CMD"))[0] == "serve"


def test_an_unknown_option_would_be_caught() -> None:
    with pytest.raises(Exception, match="No such option"):
        parse_cloud_command(["serve", "--replica-url", "x"])


def test_every_variable_is_one_gsm_cloud_or_uvicorn_reads() -> None:
    services = compose()["services"]
    baseline = load_settings({})
    seen = set()
    for name in ("migrate", "api"):
        for var, value in services[name]["environment"].items():
            seen.add(var)
            if var in READ_BY_UVICORN:
                import uvicorn.config

                assert var in inspect.getsource(uvicorn.config)
                continue
            assert var.startswith("GSM_CLOUD_"), var
            # "on" is the access log's default: compare with its opposite to see it is read.
            probe = "off" if value == "on" else value
            assert load_settings({var: str(probe)}) != baseline, f"{var} is not a setting"
    assert "GSM_CLOUD_DATABASE_URL" in seen
    # The URL the API gets is a PostgreSQL one, used with psycopg 3.
    url = services["api"]["environment"]["GSM_CLOUD_DATABASE_URL"]
    settings = load_settings({"GSM_CLOUD_DATABASE_URL": url})
    assert settings.database_url.startswith("postgresql+psycopg://gsm:")
    # The image's own variables too.
    for var in re.findall(r"\b(GSM_CLOUD_[A-Z_]+)=", DOCKERFILE.read_text(encoding="utf-8")):
        assert load_settings({var: "/elsewhere"}) != baseline, var


def test_the_health_checks_ask_healthz() -> None:
    from gsm_cloud.app import create_app
    from gsm_cloud.config import Settings

    app = create_app(Settings(database_url="sqlite://", storage_dir=Path("/nonexistent")))
    assert "get" in app.openapi()["paths"]["/healthz"]
    assert "http://127.0.0.1:8000/healthz" in DOCKERFILE.read_text(encoding="utf-8")
    assert "pg_isready" in json.dumps(compose()["services"]["db"]["healthcheck"])


@pytest.mark.skipif(
    not os.environ.get("GSM_TEST_DATABASE_URL"), reason="needs PostgreSQL (.ci/run sets it)"
)
def test_the_compose_commands_run_against_postgresql(tmp_path: Path) -> None:
    from gsm_cloud.db.scratch import scratch_database

    services = compose()["services"]
    exe = str(Path(sys.executable).parent / "gsm-cloud")
    with scratch_database(os.environ["GSM_TEST_DATABASE_URL"], "gsm_deploy", migrated=False) as url:

        def environment(service: str) -> dict[str, str]:
            env = {k: v for k, v in os.environ.items() if not k.startswith("GSM_CLOUD_")}
            env.update({k: str(v) for k, v in services[service]["environment"].items()})
            env["GSM_CLOUD_DATABASE_URL"] = url  # the scratch database, not the db service
            env["GSM_CLOUD_HOME"] = str(tmp_path / "home")
            if "GSM_CLOUD_STORAGE_DIR" in env:
                env["GSM_CLOUD_STORAGE_DIR"] = str(tmp_path / "packages")
            return env

        # serve refuses the empty database until migrate ran: the order the compose file keeps.
        port = free_port()
        serve = [exe, *services["api"]["command"]]
        serve[serve.index("--host") + 1] = "127.0.0.1"
        serve[serve.index("--port") + 1] = str(port)
        early = subprocess.run(serve, env=environment("api"), capture_output=True, text=True)
        assert early.returncode == 5, early.stderr
        assert "gsm-cloud migrate" in early.stderr

        migrated = subprocess.run(
            [exe, *services["migrate"]["command"]],
            env=environment("migrate"),
            capture_output=True,
            text=True,
        )
        assert migrated.returncode == 0, migrated.stderr
        assert "schema none ->" in migrated.stderr

        log = tmp_path / "serve.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                serve, env=environment("api"), stdout=out, stderr=subprocess.STDOUT
            )
        try:

            def healthy() -> bool:
                if process.poll() is not None:
                    pytest.fail(f"gsm-cloud serve exited: {log.read_text()[-2000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    return answer.status_code == 200 and answer.json()["status"] == "ok"
                return False

            wait_for(healthy, timeout=60)
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
