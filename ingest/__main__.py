"""Command line of the ingest job: ``python -m ingest PATH... [--prune] [--reset]``."""

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


def summary_table(report: IngestReport) -> Table:
    """A one-screen summary of the run."""
    table = Table(title="newsrag ingest", show_header=False)
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
    """Run the pipeline with a progress bar on a terminal, or plain progress lines in logs."""
    if not console.is_terminal:

        def log_progress(done: int, total: int) -> None:
            print(f"progress {done}/{total} chunks embedded", file=sys.stderr, flush=True)

        return pipeline.run(args.paths, prune=args.prune, reset=args.reset, progress=log_progress)
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

        return pipeline.run(args.paths, prune=args.prune, reset=args.reset, progress=on_progress)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the job; exit 0 when it finished (skipped files are reported, not fatal)."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    console = Console(stderr=True)
    settings = get_settings()
    try:
        store = build_store(settings)
        with console.status("loading the embedder"):
            embedder = build_embedder(settings)
        pipeline = IngestPipeline(store, embedder, settings)
        report = run_with_progress(pipeline, args, console)
    except NewsragError as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        return 2
    out = Console()
    out.print(summary_table(report))
    for skipped in report.skipped:
        out.print(f"skipped {skipped.origin}: {skipped.reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
