"""Command line of the ingest job: ``python -m ingest PATH... [--prune] [--reset]``.

``RAG_EMBEDDING_BACKEND=auto`` (the default) keeps the encoder the collection was built with; a new
collection, or one emptied by ``--reset``, gets the int8 encoder. ``--reset`` empties the collection
before it is opened, so it can also move a collection to another encoder.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from service.embeddings import build_embedder
from service.encoder_choice import resolve_embedding_backend
from service.errors import NewsragError
from service.ingestion.pipeline import IngestPipeline, IngestReport
from service.settings import get_settings
from service.store import build_store


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The job's arguments."""
    parser = argparse.ArgumentParser(
        prog="python -m ingest",
        description="Ingest news articles (.txt .md .html .json .jsonl) into the newsrag index.",
    )
    parser.add_argument("paths", nargs="+", type=Path, help="files or folders to ingest")
    parser.add_argument(
        "--prune", action="store_true", help="remove indexed articles from these paths that are gone"
    )
    parser.add_argument("--reset", action="store_true", help="empty the collection before ingesting")
    return parser.parse_args(argv)


def summary_table(report: IngestReport, encoder: str) -> Table:
    """A one-screen summary of the run, with the encoder whose vectors the collection holds."""
    table = Table(title="newsrag ingest", show_header=False)
    table.add_row("encoder", encoder)
    table.add_row("documents read", str(report.read))
    table.add_row("new articles", str(len(report.new)))
    table.add_row("changed articles", str(len(report.changed)))
    table.add_row("unchanged articles", str(len(report.unchanged)))
    table.add_row("pruned articles", str(len(report.pruned)))
    table.add_row("skipped", str(len(report.skipped)))
    table.add_row("chunks written", str(report.chunks_written))
    table.add_row("chunks deleted", str(report.chunks_deleted))
    table.add_row("chunks in BM25 index", str(report.lexical_chunks))
    table.add_row("seconds", f"{report.seconds:.1f}")
    return table


def run_with_progress(pipeline: IngestPipeline, args: argparse.Namespace, console: Console) -> IngestReport:
    """Run the pipeline with a progress bar on a terminal, or plain progress lines in logs.

    No reset here: with ``--reset`` the store was opened on the emptied collection already.
    """
    if not console.is_terminal:

        def log_progress(done: int, total: int) -> None:
            print(f"progress {done}/{total} chunks embedded", file=sys.stderr, flush=True)

        return pipeline.run(args.paths, prune=args.prune, progress=log_progress)
    with Progress(
        TextColumn("embedding chunks"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("embed", total=None)

        def on_progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return pipeline.run(args.paths, prune=args.prune, progress=on_progress)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the job; exit 0 when it finished (skipped files are reported, not fatal)."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    console = Console(stderr=True)
    try:
        # auto → the collection's encoder, read once; after --reset the collection is new: int8.
        settings = resolve_embedding_backend(get_settings(), new_collection=args.reset)
        # Without --reset a collection of another encoder is refused (409) before the encoder loads;
        # with it, the collection is emptied only once the encoder has loaded.
        store = None if args.reset else build_store(settings)
        with console.status(f"loading the encoder ({settings.embedding_backend})"):
            embedder = build_embedder(settings)
        store = store or build_store(settings, reset=True)
        pipeline = IngestPipeline(store, embedder, settings)
        report = run_with_progress(pipeline, args, console)
    except NewsragError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        return 2
    out = Console()
    out.print(summary_table(report, store.embedder))
    for skipped in report.skipped:
        out.print(f"skipped {skipped.origin}: {skipped.reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
