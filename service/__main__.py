"""Start the API: ``python -m service --host H --port P``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import uvicorn

from service.errors import NewsragError
from service.settings import get_settings


def main(argv: Sequence[str] | None = None) -> int:
    """Run uvicorn with the app factory."""
    parser = argparse.ArgumentParser(prog="python -m service", description="Run the newsrag API.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument("--log-level", default="info", help="uvicorn log level")
    args = parser.parse_args(argv)
    try:
        get_settings()  # a bad RAG_ setting stops here with its name, not in every worker's traceback
    except NewsragError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    uvicorn.run(
        "service.api.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
