"""What every rag entry point shares: arguments, the Context, known errors as one line
(and the notes they carry, one line each).

Used by the step entry points (``cli.py``) and, with online serving, by ``serve``
(``rag/serve.py``).
Every entry point takes ``--env`` (default: $MLOPS_ENV, else ``local``) and
``--config`` (a YAML file merged over the packaged settings). Spark and MLflow are
imported once the arguments are parsed, so ``--help`` and a bad argument answer without
them.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..runtime.entry_status import Errors, run_entry
from ..runtime.errors import MissingTableError, SparkStartError
from ..settings_file import ConfigError
from .eval_set import load_eval_set
from .settings import load_rag_settings

if TYPE_CHECKING:  # imports Spark and MLflow: loaded by context, when a step runs
    from ..runtime.context import Context

KNOWN_ERRORS = (
    ConfigError,
    MissingTableError,
    SparkStartError,
    LookupError,
    ValueError,
    RuntimeError,
)


def known_errors() -> Errors:
    """``KNOWN_ERRORS`` and MLflow's ``MlflowException`` (imports MLflow)."""
    from mlflow.exceptions import MlflowException

    return (*KNOWN_ERRORS, MlflowException)


def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with ``--env`` and ``--config``; add the entry point's own arguments."""
    result = argparse.ArgumentParser(description=description)
    result.add_argument(
        "--env", help="environment in the package's conf/config.yml (default: $MLOPS_ENV or local)"
    )
    result.add_argument("--config", help="YAML file merged over the packaged settings")
    return result


def context(args: argparse.Namespace) -> Context:
    """The Context of the settings ``args.env`` and ``args.config`` select (ConfigError if bad)."""
    from ..runtime.context import Context

    return Context(load_rag_settings(args.env, args.config))


def pipeline_context(args: argparse.Namespace) -> Context:
    """:func:`context`, once the files the QA pipeline reads from the package are checked:
    the prompt template (:func:`.prompts.prompt_text`) and the evaluation set
    (:func:`.eval_set.load_eval_set`). For ``run-all`` and the steps of the QA pipeline
    job up to evaluate: a broken file (ValueError, one line naming it, the item and the
    field) stops them before their first write, not evaluate after build has registered
    a version."""
    from .prompts import prompt_text  # imports MLflow

    ctx = context(args)
    prompt_text()
    load_eval_set()
    return ctx


def main(
    body: Callable[[argparse.Namespace], int],
    arguments: argparse.ArgumentParser,
    argv: list[str] | None,
) -> int:
    """:func:`..runtime.entry_status.run_entry` with :func:`known_errors`."""
    return run_entry(body, arguments, argv, known_errors)
