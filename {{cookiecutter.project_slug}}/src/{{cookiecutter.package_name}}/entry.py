"""What every tabular entry point shares: arguments, settings, known errors as one line
(and the notes they carry, one line each).

Used by the step entry points (``cli.py``) and by the entry points an optional part
adds in its own ``<part>/cli.py``.
Every entry point takes ``--env`` (default: $MLOPS_ENV, else ``local``), ``--config``
(a YAML file merged over the packaged settings) and ``--as-of YYYY-MM-DD`` (the step
reads only data before that day, UTC; default: the pins in the settings, else today).

Spark, MLflow and the steps are imported only when a step runs (:func:`context_of`,
:func:`run_step`), so ``--help`` and a bad argument answer without loading them (but
``--model-version``, whose rule :func:`.registry.is_version_number` loads MLflow).
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from .config import ConfigError, Settings, load_settings, parse_as_of
from .runtime.entry_status import run_entry
from .runtime.errors import MissingTableError, SparkStartError
from .runtime.json_output import json_text

if TYPE_CHECKING:  # imports Spark and MLflow: loaded by context_of, when a step runs
    from .runtime.context import Context

KNOWN_ERRORS = (ConfigError, MissingTableError, SparkStartError, LookupError, ValueError)


def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with ``--env``, ``--config`` and ``--as-of``; add the entry
    point's own arguments to it."""
    result = argparse.ArgumentParser(description=description)
    result.add_argument(
        "--env", help="environment in the package's conf/config.yml (default: $MLOPS_ENV or local)"
    )
    result.add_argument("--config", help="YAML file merged over the packaged settings")
    result.add_argument(
        "--as-of",
        metavar="YYYY-MM-DD",
        help="use only data before this date (midnight UTC); windows end here "
        "(default: windows.as_of / windows.training_as_of in the settings, else today)",
    )
    return result


def settings_of(args: argparse.Namespace) -> Settings:
    """Settings of ``--env`` and ``--config``, as of ``--as-of`` when given.

    An empty ``--as-of`` counts as not given. Raises ConfigError for a bad date or
    setting.
    """
    as_of = parse_as_of(args.as_of) if args.as_of else None
    return load_settings(args.env, args.config, as_of)


def context_of(args: argparse.Namespace) -> Context:
    """The runtime context (Spark session, tables, MLflow) of the settings ``args`` select
    (see :func:`settings_of`); raises what :func:`settings_of` raises."""
    from .runtime.context import Context

    return Context(settings_of(args))


def run_step(step: str, ctx: Context, **kwargs) -> dict:
    """``run(ctx, **kwargs)`` of the step module ``steps/<step>.py``: the step's result dict."""
    module = importlib.import_module(f"{__package__}.steps.{step}")
    return module.run(ctx, **kwargs)


def main(
    body: Callable[[argparse.Namespace], int],
    arguments: argparse.ArgumentParser,
    argv: list[str] | None,
) -> int:
    """:func:`.runtime.entry_status.run_entry` with this module's ``KNOWN_ERRORS``: parse
    ``argv`` with ``arguments``, call ``body``; a known error is one line (then its notes,
    one indented line each) and status 1."""
    return run_entry(body, arguments, argv, KNOWN_ERRORS)


def step_entry(step: str) -> Callable[[list[str] | None], int]:
    """The entry point of ``steps/<step>.py``: parse the common arguments, run the step
    with the settings they select, print its result as JSON; returns the exit status."""

    def entry(argv: list[str] | None = None) -> int:
        def body(args: argparse.Namespace) -> int:
            print(json_text(run_step(step, context_of(args))))
            return 0

        return main(body, parser(f"Run the {step} step."), argv)

    entry.__name__ = step
    entry.__doc__ = (
        f"Entry point of the {step} step: parse arguments, run, print the result as JSON."
    )
    return entry
