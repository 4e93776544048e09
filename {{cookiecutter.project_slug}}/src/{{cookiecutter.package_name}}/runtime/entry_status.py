"""The exit status of an entry point, shared by every console entry point of the project.

An entry point parses its arguments, runs its body and turns a known failure into one
line on stderr with status 1. Run as a program (``argv`` None: a console script or a
Databricks ``python_wheel_task``, which reads ``sys.argv`` and may ignore a returned
value) a non-zero status is raised as ``SystemExit``, so the process and the job task
fail; called with an argument list (tests, other code) the status is returned.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable


def run_entry(
    body: Callable[[argparse.Namespace], int],
    parser: argparse.ArgumentParser,
    argv: list[str] | None,
    known_errors: tuple[type[BaseException], ...],
) -> int:
    """Parse ``argv`` with ``parser`` and return ``body(args)``, the exit status.

    An exception of ``known_errors`` prints ``error: <message>`` on stderr and gives
    status 1; any other exception propagates. With ``argv`` None a non-zero status
    is raised as ``SystemExit(status)`` instead of returned.
    """
    args = parser.parse_args(argv)
    try:
        code = body(args)
    except known_errors as err:
        print(f"error: {err}", file=sys.stderr)
        code = 1
    if code and argv is None:
        raise SystemExit(code)
    return code
