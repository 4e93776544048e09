"""The exit status of an entry point, shared by every console entry point of the project.

An entry point parses its arguments, runs its body and turns a known failure into one
line on stderr with status 1 (followed by the notes the error carries, one indented line
each: the other tables refused with it, say). Run as a program (``argv`` None: a console
script or a Databricks ``python_wheel_task``, which reads ``sys.argv`` and may ignore a
returned value) a non-zero status is raised as ``SystemExit``, so the process and the
job task fail; called with an argument list (tests, other code) the status is returned.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

Errors = tuple[type[BaseException], ...]


def run_entry(
    body: Callable[[argparse.Namespace], int],
    parser: argparse.ArgumentParser,
    argv: list[str] | None,
    known_errors: Errors | Callable[[], Errors],
) -> int:
    """Parse ``argv`` with ``parser`` and return ``body(args)``, the exit status.

    An exception of ``known_errors`` prints ``error: <message>`` on stderr, then each of
    its notes (``add_note``) on a line of its own, indented by two spaces, and gives
    status 1; any other exception propagates (Python's traceback shows its notes).
    ``known_errors`` may be a function that returns them, called once the arguments are
    parsed: errors of a library that only a step loads (``--help`` answers without
    loading it). With ``argv`` None a non-zero status is raised as ``SystemExit(status)``
    instead of returned.
    """
    args = parser.parse_args(argv)
    errors = known_errors() if callable(known_errors) else known_errors
    try:
        code = body(args)
    except errors as err:
        print(f"error: {err}", file=sys.stderr)
        for note in getattr(err, "__notes__", ()):
            print(f"  {note}", file=sys.stderr)
        code = 1
    if code and argv is None:
        raise SystemExit(code)
    return code
