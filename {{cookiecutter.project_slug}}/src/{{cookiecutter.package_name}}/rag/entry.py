"""What every rag entry point shares: arguments, the Context, known errors as one line.

Used by the step entry points (``cli.py``) and by ``serve`` (``rag/serve.py``).
Every entry point takes ``--env`` (default: $MLOPS_ENV, else ``local``) and
``--config`` (a YAML file merged over the packaged settings).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from mlflow.exceptions import MlflowException

from ..config import ConfigError
from ..runtime.context import Context
from ..runtime.spark import SparkStartError
from ..runtime.tables import MissingTableError
from .settings import load_rag_settings

KNOWN_ERRORS = (
    ConfigError,
    MissingTableError,
    SparkStartError,
    LookupError,
    ValueError,
    RuntimeError,
    MlflowException,
)


def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with ``--env`` and ``--config``; add the entry point's own arguments."""
    result = argparse.ArgumentParser(description=description)
    result.add_argument(
        "--env", help="environment in conf/config.yml (default: $MLOPS_ENV or local)"
    )
    result.add_argument("--config", help="YAML file merged over the packaged settings")
    return result


def context(args: argparse.Namespace) -> Context:
    """The Context of the settings ``args.env`` and ``args.config`` select (ConfigError if bad)."""
    return Context(load_rag_settings(args.env, args.config))


def main(
    body: Callable[[argparse.Namespace], int],
    arguments: argparse.ArgumentParser,
    argv: list[str] | None,
) -> int:
    """Parse ``argv`` with ``arguments`` and return ``body(args)``, the exit status.

    A known failure (``KNOWN_ERRORS``) prints ``error: <message>`` on stderr and
    gives status 1; any other exception propagates. Called as a program (``argv``
    None: a console script or a Databricks ``python_wheel_task``, which reads
    ``sys.argv``) a non-zero status is raised as ``SystemExit``, so the process and
    the job task fail; called with an argument list it is returned.
    """
    args = arguments.parse_args(argv)
    try:
        code = body(args)
    except KNOWN_ERRORS as err:
        print(f"error: {err}", file=sys.stderr)
        code = 1
    if code and argv is None:
        raise SystemExit(code)
    return code
