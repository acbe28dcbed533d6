"""The two commands as users run them: ``python -m ingest`` then ``python -m service``, as processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import SEEDS, free_port

pytestmark = pytest.mark.e2e
ROOT = SEEDS.parent


@pytest.fixture()
def env(tmp_path: Path) -> dict[str, str]:
    values = dict(os.environ)
    values.update(
        {"RAG_DATA_DIR": str(tmp_path / "data"), "RAG_GENERATOR": "extractive", "HF_HUB_OFFLINE": "1"}
    )
    values.pop("RAG_CHROMA__HOST", None)
    return values


def run_ingest(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ingest", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@contextmanager
def running(command: list[str], env: dict[str, str], port: int, log_path: Path) -> Iterator[str]:
    """The server a command starts, once /healthz answers (at most 300 s: ``make serve`` ingests
    first); stopped with every process it started (``make`` runs the server as its child)."""
    url = f"http://127.0.0.1:{port}"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            deadline = time.monotonic() + 300
            while True:
                assert process.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, log_path.read_text()
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.3)
            yield url
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


@pytest.fixture()
def served(env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    first = run_ingest(env, str(SEEDS))
    assert first.returncode == 0, first.stderr
    port = free_port()
    command = [sys.executable, "-m", "service", "--host", "127.0.0.1", "--port", str(port)]
    with running(command, env, port, tmp_path / "server.log") as url:
        yield url


def test_ingest_cli_prints_a_summary_and_is_idempotent(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "extra"
    bad.mkdir()
    (bad / "notes.pdf").write_bytes(b"%PDF-1.4")
    first = run_ingest(env, str(SEEDS), str(bad))
    assert first.returncode == 0, first.stderr
    assert "new articles" in first.stdout and "│ 5" in first.stdout
    assert "skipped notes.pdf" in first.stdout
    assert "all-MiniLM-L6-v2|onnx-int8" in first.stdout  # a new collection gets the int8 encoder
    assert not (tmp_path / "data" / "models").exists()  # the model of the session's RAG_MODEL_CACHE_DIR
    second = run_ingest(env, str(SEEDS))
    assert second.returncode == 0
    unchanged = next(line for line in second.stdout.splitlines() if "unchanged articles" in line)
    written = next(line for line in second.stdout.splitlines() if "chunks written" in line)
    assert "5" in unchanged and written.split("│")[2].strip() == "0"


def test_ingest_cli_rejects_no_paths(env: dict[str, str]) -> None:
    result = run_ingest(env)
    assert result.returncode == 2 and "paths" in result.stderr


def test_service_serves_what_ingest_wrote_with_the_same_data_dir(served: str) -> None:
    body = httpx.post(
        f"{served}/search", json={"query": "Who succeeded Soleimani as Quds Force commander?"}
    ).json()
    assert body["results"][0]["article"]["origin"].startswith("002_")
    assert len(httpx.get(f"{served}/articles").json()["articles"]) == 5


def test_a_bad_setting_stops_both_commands_with_its_name(env: dict[str, str]) -> None:
    env["RAG_RETRIEVAL__SOURCE_MARGIN"] = "abc"
    ingest = run_ingest(env, str(SEEDS))
    service = subprocess.run(
        [sys.executable, "-m", "service", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    for done in (ingest, service):
        assert done.returncode == 2
        assert "invalid settings: RAG_RETRIEVAL__SOURCE_MARGIN" in " ".join(done.stderr.split())
        assert "Traceback" not in done.stderr


def test_make_serve_the_readme_s_first_command_ingests_the_seeds_and_serves_them(tmp_path: Path) -> None:
    # As a user runs it, with the defaults, on the repository's venv (which `make test` installed);
    # generator auto finds no Ollama at a port nothing listens on, so it answers extractively.
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env["RAG_OLLAMA__BASE_URL"] = f"http://127.0.0.1:{free_port()}"
    port = free_port()
    command = ["make", "serve", f"PORT={port}", f"RAG_DATA_DIR={tmp_path / 'data'}"]
    with running(command, env, port, tmp_path / "make.log") as url:
        assert httpx.get(f"{url}/readyz", timeout=10).status_code == 200
        assert len(httpx.get(f"{url}/articles").json()["articles"]) == 5
        asked = httpx.post(
            f"{url}/ask",
            json={"question": "Who took over the Quds Force after Soleimani was killed?"},
            timeout=60,
        ).json()
    assert asked["generator"] == "extractive" and asked["citations"]
    assert asked["citations"][0]["article"]["origin"].startswith("002_")
    assert (tmp_path / "data" / "chroma").is_dir()  # the data dir given, not ./data
