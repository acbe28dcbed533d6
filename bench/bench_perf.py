"""`make bench`: newsrag's speed next to the raw cost of the same work, measured in one run.

Ingests a slice of the MultiHop-RAG corpus into a temp data dir with the project's ingest pipeline
and encodes the very same chunk texts with the raw encoder (same batch size, same process, same
threads): ``SentenceTransformer.encode`` for torch, the ONNX Runtime session for the int8 default;
re-ingests the unchanged corpus; starts the API (``python -m service --workers N``, real uvicorn
worker processes on a free port over that data dir) and times ``/search`` over HTTP against the raw
work of one search called directly (query embedding, one Chroma query, one BM25 query), query by
query, interleaved, so load from elsewhere on the machine hits both alike; then throughput with 1,
4 and 8 concurrent clients, ``/ask`` (extractive), the first ``/ask/stream`` event, start-up until
``/readyz`` and the peak RSS of all server processes together. The encoder is the service's default
(int8 ONNX) unless ``--backend`` says otherwise; the int8 encoder is also timed against fp32 on the
same chunk texts. Every query is asked once (the query-embedding cache would otherwise answer
repeats). Writes ``bench/results/perf.{json,md}`` and prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx

from bench.metrics import percentile
from service.chunk_metadata import article_meta_from, where_clause
from service.embeddings import build_embedder, default_model_path
from service.encoder_choice import DEFAULT_BACKEND
from service.ingestion.pipeline import IngestPipeline
from service.lexical import build_lexical_index, top_positions
from service.models import Chunk, Filters, indexed_text
from service.settings import Settings
from service.store import build_store

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data" / "multihop"
RESULTS = ROOT / "bench" / "results"
COLLECTION = "bench"
INT8_RESULTS = RESULTS / "multihop_retrieval_onnx-int8.json"
FP32_RESULTS = RESULTS / "multihop_retrieval.json"
PACKAGES = ("torch", "sentence-transformers", "transformers", "chromadb", "onnxruntime", "fastapi", "uvicorn")


@dataclass
class Row:
    """One line of the results table: a measure, its raw counterpart, and the target."""

    measure: str
    value: str
    baseline: str = ""
    ratio: float | None = None
    target: str = ""
    passed: bool | None = None


@dataclass
class Report:
    """Everything the run measured, as written to perf.json."""

    machine: dict[str, Any]
    settings: dict[str, Any]
    numbers: dict[str, Any] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)


def machine() -> dict[str, Any]:
    """Cores, CPU model and versions of what does the work."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor()
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "absent"
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "versions": versions,
        "finished": "",
    }


def corpus_slice(target: Path, articles: int | None) -> int:
    """The first N articles of the corpus, as a JSON file of the same shape; how many."""
    corpus = json.loads((DATA / "corpus.json").read_text(encoding="utf-8"))
    chosen = corpus[:articles] if articles else corpus
    target.write_text(json.dumps(chosen), encoding="utf-8")
    return len(chosen)


def questions() -> list[str]:
    """The development questions, in file order."""
    return [str(q["query"]) for q in json.loads((DATA / "queries-dev.json").read_text(encoding="utf-8"))]


def chunk_texts(settings: Settings) -> list[str]:
    """The texts the pipeline embedded for the stored chunks (header plus text)."""
    store = build_store(settings)
    texts: list[str] = []
    for chunk_id, meta, document in store.iter_records(with_documents=True):
        chunk = Chunk(
            id=chunk_id, article=article_meta_from(meta), index=int(meta.get("chunk_index", 0)), text=document
        )
        texts.append(indexed_text(chunk))
    return texts


def timed(work: Callable[[], object]) -> float:
    """Seconds the call took."""
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def raw_encoder(settings: Settings) -> Callable[[list[str]], object]:
    """The encoder's own batched call, without the service: ``SentenceTransformer.encode`` for
    torch, the tokenizer and ONNX Runtime session (``OnnxInt8Embedder.embed``) for int8."""
    if settings.embedding_backend != "torch":
        return build_embedder(settings).embed
    import torch
    from sentence_transformers import SentenceTransformer

    if settings.embedding_threads > 0:
        torch.set_num_threads(settings.embedding_threads)
    model = SentenceTransformer(default_model_path(), device="cpu", local_files_only=True)
    size = settings.embedding_batch_size

    def encode(texts: list[str]) -> object:
        return model.encode(texts, batch_size=size, normalize_embeddings=True, show_progress_bar=False)

    return encode


def raw_encode_seconds(texts: list[str], settings: Settings) -> float:
    """Seconds the raw encoder takes on the texts (loaded and warmed beforehand)."""
    encode = raw_encoder(settings)
    encode(texts[: settings.embedding_batch_size])  # warm
    return timed(lambda: encode(texts))


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running ``python -m service`` subprocess."""

    process: subprocess.Popen[bytes]
    url: str
    startup_seconds: float

    def peak_rss_mb(self) -> float:
        """The peak resident sets (VmHWM) of the server and its worker processes, summed, in MB."""
        return sum(_peak_rss_kb(pid) for pid in _process_tree(self.process.pid)) / 1024


def _process_tree(pid: int) -> list[int]:
    """The process and all its descendants (Linux /proc)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            pending.extend(int(child) for child in task.read_text(encoding="utf-8").split())
    return found


def _peak_rss_kb(pid: int) -> int:
    """One process's peak resident set (VmHWM) in kB; 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@contextmanager
def serve(settings: Settings, log: Path, workers: int) -> Iterator[Server]:
    """Start the API (``workers`` processes) over the settings' data dir; yield once /readyz answers."""
    port = free_port()
    env = dict(
        os.environ,
        HF_HUB_OFFLINE="1",
        RAG_DATA_DIR=str(settings.data_dir),
        RAG_COLLECTION=settings.collection,
        RAG_GENERATOR="extractive",
        RAG_EMBEDDING_BACKEND=settings.embedding_backend,
        RAG_EMBEDDING_THREADS=str(settings.embedding_threads),
        RAG_RATE_LIMIT="",
        PYTHONPATH=str(ROOT),
    )
    command = [
        *(sys.executable, "-m", "service", "--port", str(port), "--log-level", "warning"),
        *("--workers", str(workers)),
    ]
    with log.open("wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = started + 300
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"the server exited; see {log}")
                try:
                    if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.perf_counter() > deadline:
                    raise RuntimeError("the server did not become ready in 300 s")
                time.sleep(0.05)
            yield Server(process, url, time.perf_counter() - started)
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class RawSearch:
    """The work of one search without the service: embed, one Chroma query, one BM25 query."""

    def __init__(self, settings: Settings) -> None:
        self._encode = raw_encoder(settings)
        self._store = build_store(settings)
        self._snapshot = build_lexical_index(settings, self._store).current()
        self._candidates = settings.retrieval.candidates
        self._collection = self._store._collection

    def __call__(self, query: str) -> None:
        """Embed the query, ask Chroma for the candidates, score BM25 and take its top."""
        vector = self._encode([query])
        self._collection.query(
            query_embeddings=vector,
            n_results=self._candidates,
            where=where_clause(Filters()),
            include=["metadatas", "documents", "distances"],
        )
        scores = self._snapshot.scores(query, Filters())
        if scores is not None:
            top_positions(scores, self._candidates)


def post_seconds(client: httpx.Client, path: str, body: dict[str, Any]) -> float:
    """Seconds one POST took to answer in full (raises on an error status)."""
    started = time.perf_counter()
    response = client.post(path, json=body)
    response.raise_for_status()
    return time.perf_counter() - started


def first_event_seconds(client: httpx.Client, question: str) -> float:
    """Seconds until the first server-sent event of /ask/stream arrives; the stream is read to its end.

    Reading on to the end matters: a client that hung up after the first event would leave the
    server finishing that answer while the next question is timed.
    """
    started = time.perf_counter()
    first: float | None = None
    with client.stream("POST", "/ask/stream", json={"question": question}) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if first is None and line.startswith(("event:", "data:")):
                first = time.perf_counter() - started
    return first if first is not None else time.perf_counter() - started


def throughput(url: str, queries: list[str], clients: int) -> float:
    """Searches per second with the given number of concurrent clients sharing the queries."""
    pending = list(queries)
    lock = threading.Lock()
    failures: list[BaseException] = []

    def client_loop() -> None:
        with httpx.Client(base_url=url, timeout=120) as client:
            while True:
                with lock:
                    if not pending:
                        return
                    query = pending.pop()
                try:
                    post_seconds(client, "/search", {"query": query})
                except BaseException as exc:
                    failures.append(exc)
                    return

    threads = [threading.Thread(target=client_loop) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return len(queries) / (time.perf_counter() - started)


def int8_speed(texts: list[str], settings: Settings) -> tuple[float, float]:
    """Chunks/s of the fp32 and the int8 encoder on the same texts (same batch size and threads)."""
    fp32 = build_embedder(settings.model_copy(update={"embedding_backend": "torch"}))
    int8 = build_embedder(settings.model_copy(update={"embedding_backend": "onnx-int8"}))
    for encoder in (fp32, int8):
        encoder.embed(texts[: settings.embedding_batch_size])  # warm
    fp32_seconds = timed(lambda: fp32.embed(texts))
    int8_seconds = timed(lambda: int8.embed(texts))
    return len(texts) / fp32_seconds, len(texts) / int8_seconds


def hits_at_10(path: Path) -> float | None:
    """Hybrid Hits@10 from a retrieval eval results file, when it exists."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        return float(report["runs"]["hybrid (newsrag)"]["overall"]["Hits@10"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def ms(seconds: float) -> str:
    """Seconds as milliseconds, for the table."""
    return f"{seconds * 1000:.0f} ms"


def check(ratio: float, limit: float, at_least: bool = False) -> bool:
    """Whether a ratio meets its target."""
    return ratio >= limit if at_least else ratio <= limit


def run(args: argparse.Namespace, workdir: Path) -> Report:
    """Every measurement, in order; the rows of the table with pass/fail."""
    # One encoder throughout (the default for a new collection unless --backend names one), and the
    # raw baselines use the same encoder, so the ratios measure the service's own overhead.
    settings = Settings(
        data_dir=workdir / "data",
        collection=COLLECTION,
        generator="extractive",
        embedding_backend=args.backend or DEFAULT_BACKEND,
    )
    shown = ("embedding_batch_size", "embedding_threads", "embedding_backend")
    report = Report(machine(), {**{k: getattr(settings, k) for k in shown}, "workers": args.workers})
    numbers = report.numbers
    rows = report.rows
    corpus = workdir / "corpus.json"
    numbers["articles"] = corpus_slice(corpus, args.articles)

    # Ingest, then the raw encoder on the same chunk texts, then the unchanged re-ingest.
    pipeline = IngestPipeline(build_store(settings), build_embedder(settings), settings)
    ingest_report = pipeline.run([corpus])
    ingest_seconds = ingest_report.seconds or 0.0
    texts = chunk_texts(settings)
    numbers["chunks"] = len(texts)
    numbers["ingest_seconds"] = ingest_seconds
    raw_seconds = raw_encode_seconds(texts, settings)
    numbers["raw_encode_seconds"] = raw_seconds
    ingest_rate, raw_rate = len(texts) / ingest_seconds, len(texts) / raw_seconds
    ratio = ingest_rate / raw_rate
    rows.append(
        Row(
            "ingest chunks/s",
            f"{ingest_rate:.1f} ({numbers['articles'] / ingest_seconds:.2f} articles/s)",
            f"{raw_rate:.1f} raw encoder",
            ratio,
            "≥ 0.9×",
            check(ratio, 0.9, at_least=True),
        )
    )
    reingest = IngestPipeline(build_store(settings), build_embedder(settings), settings).run([corpus])
    numbers["reingest_seconds"] = reingest.seconds
    numbers["reingest_chunks_written"] = reingest.chunks_written
    ratio = reingest.seconds / ingest_seconds
    rows.append(
        Row(
            "re-ingest unchanged",
            f"{reingest.seconds:.1f} s",
            f"{ingest_seconds:.1f} s first",
            ratio,
            "≤ 0.05×",
            check(ratio, 0.05),
        )
    )

    pool = questions()
    warm, measured = pool[:5], pool[5 : 5 + args.queries]
    rest = pool[5 + args.queries :]
    raw = RawSearch(settings)
    with (
        serve(settings, workdir / "server.log", args.workers) as server,
        httpx.Client(base_url=server.url, timeout=120) as client,
    ):
        numbers["startup_seconds"] = server.startup_seconds
        # Every worker process loads its encoder, index and vectors: warm them all before timing.
        throughput(server.url, pool[-args.workers * 8 :], clients=max(8, args.workers * 4))
        for query in warm:
            post_seconds(client, "/search", {"query": query})
            raw(query)
        search, direct = [], []
        for query in measured:  # interleaved: machine load hits both alike
            search.append(post_seconds(client, "/search", {"query": query}))
            direct.append(timed(lambda q=query: raw(q)))  # type: ignore[misc]
        search_p50, raw_p50 = percentile(search, 50), percentile(direct, 50)
        numbers["search_seconds"] = search
        numbers["raw_search_seconds"] = direct
        ratio = search_p50 / raw_p50
        rows.append(
            Row(
                "/search p50 (p95)",
                f"{ms(search_p50)} ({ms(percentile(search, 95))})",
                f"{ms(raw_p50)} ({ms(percentile(direct, 95))}) raw",
                ratio,
                "≤ 1.3×",
                check(ratio, 1.3),
            )
        )
        cached = [post_seconds(client, "/search", {"query": q}) for q in measured[:10]]
        numbers["search_cached_p50"] = percentile(cached, 50)
        rows.append(Row("/search p50, repeated query (cache hit)", ms(percentile(cached, 50))))

        rates: dict[int, float] = {}
        per_level = args.throughput_queries
        for clients in (1, 4, 8):
            batch, rest = rest[:per_level], rest[per_level:]
            rates[clients] = throughput(server.url, batch, clients)
        numbers["throughput"] = rates
        ratio = rates[8] / rates[1]
        rows.append(
            Row(
                "/search throughput 1 / 4 / 8 clients",
                f"{rates[1]:.1f} / {rates[4]:.1f} / {rates[8]:.1f} req/s",
                "8 vs 1 clients",
                ratio,
                "≥ 1.6×",
                check(ratio, 1.6, at_least=True),
            )
        )

        asks, rest = rest[: args.ask_queries], rest[args.ask_queries :]
        ask = [post_seconds(client, "/ask", {"question": q}) for q in asks]
        numbers["ask_seconds"] = ask
        ratio = percentile(ask, 50) / search_p50
        rows.append(
            Row(
                "/ask (extractive) p50 (p95)",
                f"{ms(percentile(ask, 50))} ({ms(percentile(ask, 95))})",
                f"{ms(search_p50)} /search p50",
                ratio,
                "≤ 2×",
                check(ratio, 2.0),
            )
        )
        streams = [first_event_seconds(client, q) for q in rest[: args.ask_queries]]
        numbers["first_event_seconds"] = streams
        ratio = percentile(streams, 50) / search_p50
        rows.append(
            Row(
                "/ask/stream first event p50",
                ms(percentile(streams, 50)),
                f"{ms(search_p50)} /search p50",
                ratio,
                "≤ 1.2×",
                check(ratio, 1.2),
            )
        )
        rss = server.peak_rss_mb()
        numbers["peak_rss_mb"] = rss
    rows.append(Row("start-up until /readyz", f"{numbers['startup_seconds']:.1f} s"))
    rows.append(
        Row(
            f"server peak RSS ({args.workers} workers, summed)",
            f"{rss:.0f} MB",
            "",
            None,
            "≤ 1536 MB",
            rss <= 1536,
        )
    )

    sample = texts[: args.int8_texts]
    fp32_rate, int8_rate = int8_speed(sample, settings)
    numbers["encoder_fp32_chunks_per_s"], numbers["encoder_int8_chunks_per_s"] = fp32_rate, int8_rate
    ratio = int8_rate / fp32_rate
    rows.append(
        Row(
            "int8 ONNX encoder chunks/s",
            f"{int8_rate:.1f}",
            f"{fp32_rate:.1f} fp32",
            ratio,
            "≥ 1.5×",
            check(ratio, 1.5, at_least=True),
        )
    )
    int8_hits, fp32_hits = hits_at_10(INT8_RESULTS), hits_at_10(FP32_RESULTS)
    if int8_hits is not None and fp32_hits is not None:
        gap = int8_hits - fp32_hits
        rows.append(
            Row(
                "int8 hybrid Hits@10 (make eval, make eval-fp32)",
                f"{int8_hits:.3f}",
                f"{fp32_hits:.3f} fp32",
                None,
                "within 0.01",
                gap >= -0.01,
            )
        )
    else:
        rows.append(Row("int8 hybrid Hits@10", "not measured: run make eval and make eval-fp32"))
    report.machine["finished"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return report


def markdown(report: Report) -> str:
    """The results table with the machine at the top."""
    m, n, s = report.machine, report.numbers, report.settings
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    lines = [
        f"Machine: {m['cores']} cores, {m['cpu']}; Python {m['python']}; load average at start "
        f"{m['load_average']}; {m['finished']}.",
        f"Versions: {versions}.",
        f"Corpus: first {n['articles']} MultiHop-RAG articles, {n['chunks']} chunks; "
        f"encoder {s['embedding_backend']}, batch {s['embedding_batch_size']}, threads "
        f"{s['embedding_threads']}; {s['workers']} API worker processes.",
        "",
        "| measure | newsrag | raw / reference | ratio | target | result |",
        "|---|---|---|---|---|---|",
    ]
    for row in report.rows:
        ratio = f"{row.ratio:.2f}" if row.ratio is not None else ""
        result = "" if row.passed is None else ("pass" if row.passed else "FAIL")
        lines.append(f"| {row.measure} | {row.value} | {row.baseline} | {ratio} | {row.target} | {result} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, write bench/results/perf.{json,md}, print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.bench_perf", description=__doc__)
    parser.add_argument("--articles", type=int, default=None, help="ingest only the first N articles")
    parser.add_argument("--queries", type=int, default=40, help="questions timed for /search vs raw")
    parser.add_argument(
        "--throughput-queries",
        type=int,
        default=160,
        help="searches per concurrency level (enough for ~1.5 s each, past the clients' ramp-up)",
    )
    parser.add_argument("--ask-queries", type=int, default=30, help="questions for /ask and /ask/stream each")
    parser.add_argument("--int8-texts", type=int, default=256, help="chunk texts for the int8 vs fp32 timing")
    parser.add_argument(
        "--backend",
        choices=["torch", "onnx-int8"],
        default=None,
        help=f"encoder for the whole run (default: the service's default for a new index, {DEFAULT_BACKEND})",
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="API worker processes (python -m service --workers N)"
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/results alone")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="newsrag-bench-"))
    try:
        report = run(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    table = markdown(report)
    print(table)
    if not args.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        payload = {
            "machine": report.machine,
            "settings": report.settings,
            "numbers": report.numbers,
            "rows": [row.__dict__ for row in report.rows],
        }
        (RESULTS / "perf.json").write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
        (RESULTS / "perf.md").write_text(table, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
