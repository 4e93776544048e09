"""Entry point of the online-serving option: ``serve`` (see pyproject.toml)."""

from __future__ import annotations

import argparse

from .. import entry


def serve(argv: list[str] | None = None) -> int:
    """Entry point ``serve``: the champion version behind a local scoring server (blocks).

    Listens on 127.0.0.1 at ``--port`` (default ``serving.port``) until Ctrl-C, and
    logs every request in the inference table (see :mod:`.server`). Not part
    of run-all.
    """
    parser = entry.parser(
        "Serve the champion model locally and log requests in the inference table."
    )
    parser.add_argument("--port", type=int, help="port on 127.0.0.1 (default: serving.port)")

    def body(args: argparse.Namespace) -> int:
        from .server import serve_forever  # loads MLflow and the web server

        serve_forever(entry.context_of(args), args.port)
        return 0

    return entry.main(body, parser, argv)
