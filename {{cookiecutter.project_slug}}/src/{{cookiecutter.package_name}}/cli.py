"""Console entry points, one per step plus ``run-all``.

The same functions are the ``python_wheel_task`` entry points of the Databricks
jobs. Every entry point takes ``--env`` (default: $MLOPS_ENV, else ``local``),
``--config`` (a YAML file merged over the packaged settings) and ``--as-of
YYYY-MM-DD`` (the step reads only data before that day, UTC; default: the pins in
the settings, else today). Known failures end with a one-line message and exit
status 1 (raised as ``SystemExit`` when run as a program, so a job task fails). The
entry points of an optional part are in its own module ``<part>/cli.py``, built from
the helpers here. Spark, MLflow and scikit-learn load when a step runs, not when this
module is imported (``--help`` answers without them).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from . import entry
from .config import Settings
from .entry import main, parser, step_entry
from .parts import concatenated
from .runtime.json_output import json_text

if TYPE_CHECKING:
    from .runtime.context import Context

# run-all's steps in order: those every project has, then those optional parts add.
STEPS = (
    "ingest",
    "features",
    "train",
    "validate",
    "deploy",
    "batch_inference",
    *concatenated("RUN_ALL_STEPS"),
)
REJECTION_EXIT = 3  # `validate` / `run-all --fail-on-rejection` when the candidate is rejected
HANDOFF = {"validate": "train", "deploy": "validate"}  # step: the step whose model_version it takes


# The largest model version a registry stores: a signed 64-bit integer (MLflow's SQL
# stores; a larger number failed in SQLite with a traceback).
MAX_MODEL_VERSION = 2**63 - 1


def _model_version(text: str) -> int:
    """``--model-version``: a positive integer up to :data:`MAX_MODEL_VERSION`, in ASCII
    digits (:func:`.registry.is_version_number`; blanks around it are ignored).

    Raises argparse.ArgumentTypeError (argparse prints it on one line, exit status 2).
    """
    from .registry import is_version_number  # loads MLflow, as the command that reads it will

    if not is_version_number(text.strip()) or int(text) > MAX_MODEL_VERSION:
        raise argparse.ArgumentTypeError(
            f"must be a positive integer up to 2**63 - 1 (a model version), got {text!r}"
        )
    return int(text)


def _rejected(verdict: dict) -> bool:
    """Whether ``verdict`` (validate's result) rejects its candidate: status FAILED."""
    from .registry import FAILED  # loads MLflow, as the step that judged has already

    return verdict["status"] == FAILED


def _version_entry(step: str, default: str, rejection: bool = False):
    """Entry point of a step that acts on one model version (``--model-version``)."""

    def step_main(argv: list[str] | None = None) -> int:
        arguments = parser(f"Run the {step} step.")
        arguments.add_argument(
            "--model-version", type=_model_version, help=f"model version (default: {default})"
        )
        if rejection:
            arguments.add_argument(
                "--fail-on-rejection",
                action="store_true",
                help="exit with status 3 when the candidate is rejected "
                "(also: validation.fail_on_rejection in the config)",
            )

        def body(args: argparse.Namespace) -> int:
            ctx = entry.context_of(args)
            fail = rejection and stops_on_rejection(args, ctx.settings)
            result = entry.run_step(step, ctx, version=args.model_version)
            print(json_text(result))
            return REJECTION_EXIT if fail and _rejected(result) else 0

        return main(body, arguments, argv)

    step_main.__name__ = step
    return step_main


ingest = step_entry("ingest")
features = step_entry("features")
train = step_entry("train")
validate = _version_entry("validate", "the highest-numbered", rejection=True)
validate.__doc__ = """Entry point ``validate``: judge one model version, print the verdict as JSON
(strict: a figure that is not a finite number, e.g. ``champion_figure`` when the champion
is not comparable, is printed as null).

``--model-version N`` picks the version (default: the highest-numbered). With
``--fail-on-rejection`` or ``validation.fail_on_rejection: true`` the exit status
is 3 when the candidate is rejected (``status`` FAILED), else 0.
"""
deploy = _version_entry("deploy", "the one the challenger alias points at")
deploy.__doc__ = """Entry point ``deploy``: promote one validated version, print the outcome.

``--model-version N`` picks the version (default: the one the challenger alias
points at, that is the last one validated).
"""
batch_inference = step_entry("batch_inference")
rollback = step_entry("rollback")  # by hand only: not in STEPS


def _require_champion(deployed: dict, after: tuple[str, ...]) -> None:
    """Raise LookupError when deploy's result ``deployed`` has no champion and steps
    ``after`` it (they score with the champion) are still to run.

    The one-line message names the version deploy refused, its reason, and the steps that
    do not run: a first candidate refused on an empty registry stops the run here, not in
    the first scoring step, whose "run deploy first" would hide that deploy ran.
    """
    if deployed["champion_version"] is None and after:
        raise LookupError(
            f"deploy did not promote v{deployed['challenger_version']} ({deployed['reason']}) "
            f"and there is no champion to score with: {', '.join(after)} did not run"
        )


def run_pipeline(
    ctx: Context,
    steps: tuple[str, ...] = STEPS,
    stop_on_rejection: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Run ``steps`` in order in one process and return the summary.

    validate judges the version train registered in this run, and deploy acts on
    the version validate judged (``model_version`` handed on, see ``HANDOFF``).
    Summary keys: env, windows (as-of dates and windows, see
    :meth:`Settings.window_tags`), steps (each step's result), seconds (wall time
    per step), rows (rows per table at the end), model_name, champion_version (the
    champion at the end of the run: deploy's, else the registry's, None when there is
    none: :func:`.registry.champion_after_run`), validation (status, gates, metrics,
    reasons) and rejected. With
    ``stop_on_rejection``, a rejected candidate (validate status FAILED) ends the
    run right after validate and ``rejected`` is its version; otherwise
    ``rejected`` is None. A failing step raises; the steps before it are kept.
    ``progress``, when given, receives ``<step>: done in <seconds> s`` as each step ends.
    Raises LookupError after deploy when it left no champion and steps that score follow
    (:func:`_require_champion`). A new local MLflow store is created in a thread while
    the first step runs (:func:`.runtime.tracking.create_store_ahead`).
    """
    from .registry import champion_after_run  # loads MLflow, as the context has
    from .runtime.tracking import create_store_ahead

    results: dict[str, dict] = {}
    seconds: dict[str, float] = {}
    rejected = None
    create_store_ahead(ctx.settings)  # a new local MLflow store is made while the steps start
    for step in steps:
        started = time.perf_counter()
        source = results.get(HANDOFF.get(step, ""))
        handoff = {"version": source["model_version"]} if source else {}
        results[step] = entry.run_step(step, ctx, **handoff)
        seconds[step] = round(time.perf_counter() - started, 2)
        if progress:
            progress(f"{step}: done in {seconds[step]} s")
        if stop_on_rejection and step == "validate" and _rejected(results[step]):
            rejected = results[step]["model_version"]
            break
        if step == "deploy":
            _require_champion(results[step], steps[steps.index(step) + 1 :])
    rows = {name: ctx.tables.count(name) for name in map(ctx.settings.table, ctx.settings.tables)}
    validation = results.get("validate", {})
    return {
        "env": ctx.settings.env,
        "windows": ctx.settings.window_tags(),
        "model_name": ctx.settings.model_name,
        "champion_version": champion_after_run(ctx, results),
        "validation": {
            k: validation.get(k)
            for k in ("model_version", "status", "gate_result", "gates", "metrics", "reasons")
        },
        "rejected": rejected,
        "rows": rows,
        "seconds": {**seconds, "total": round(sum(seconds.values()), 2)},
        "steps": results,
    }


def format_summary(summary: dict) -> str:
    """The summary as a few readable lines."""
    windows = summary["windows"]
    lines = [
        f"environment: {summary['env']}",
        f"as of {windows['as_of']} (training as of {windows['training_as_of']}): "
        + ", ".join(f"{k} {windows['window_' + k]}" for k in ("train", "validation", "scoring")),
        "rows per table:",
    ]
    lines += [f"  {name}: {count:,}" for name, count in summary["rows"].items()]
    lines.append(f"model: {summary['model_name']}  champion version: {summary['champion_version']}")
    lines += validation_lines(summary["validation"])
    if summary.get("rejected") is not None:
        lines.append(f"stopped after validate: v{summary['rejected']} was rejected")
    lines.append(
        "seconds per step: " + ", ".join(f"{k}={v}" for k, v in summary["seconds"].items())
    )
    return "\n".join(lines)


def validation_lines(validation: dict) -> list[str]:
    """validate's verdict as summary lines: ``validation of v<N>: <status> (<metrics>)``,
    each metric to three decimals, then one ``  failed gate: <reason>`` line per reason.

    ``validation`` holds model_version, status and, when present, metrics (name: number)
    and reasons (list of str), as in validate's result."""
    metrics = ", ".join(f"{k}={v:.3f}" for k, v in (validation.get("metrics") or {}).items())
    lines = [f"validation of v{validation['model_version']}: {validation['status']} ({metrics})"]
    return lines + [f"  failed gate: {reason}" for reason in validation.get("reasons") or []]


def print_progress(line: str) -> None:
    """Print a ``run-all`` progress line on stderr (stdout keeps the summary)."""
    print(line, file=sys.stderr, flush=True)


def run_all_parser() -> argparse.ArgumentParser:
    """The arguments of ``run-all``: the common ones, ``--summary``, ``--fail-on-rejection``."""
    arguments = parser("Run every pipeline step in one process.")
    arguments.add_argument(
        "--summary", type=Path, help="write the run summary as JSON to this path"
    )
    arguments.add_argument(
        "--fail-on-rejection",
        action="store_true",
        help="stop after validate and exit with status 3 when the candidate is rejected",
    )
    return arguments


def stops_on_rejection(args: argparse.Namespace, settings: Settings) -> bool:
    """Whether ``run-all`` (or ``validate``) stops on a rejection: the flag
    ``--fail-on-rejection`` or ``validation.fail_on_rejection``.

    Raises ConfigError when the setting is not true or false, flag or not.
    """
    from .gates import fails_on_rejection  # loads scikit-learn

    configured = fails_on_rejection(settings)
    return args.fail_on_rejection or configured


def report_summary(summary: dict, path: Path | None, text: str) -> int:
    """Print ``text``, write ``summary`` as JSON to ``path`` if set; the exit status.

    The JSON is strict (:func:`.runtime.json_output.json_text`): a figure that is not a
    finite number, such as validate's NaN ``champion_figure``, is written as null.

    The status is 3 when the run stopped on a rejected candidate, else 0.
    """
    print(text)
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json_text(summary) + "\n", encoding="utf-8")
    return REJECTION_EXIT if summary["rejected"] is not None else 0


def run_all(argv: list[str] | None = None) -> int:
    """Entry point ``run-all``: every step in order (see :func:`run_pipeline`).

    Each step prints ``<step>: done in <seconds> s`` on stderr as it ends, so a failing
    step's error follows the list of the steps that ran. ``--summary PATH`` writes the
    summary JSON. With ``--fail-on-rejection`` (or
    ``validation.fail_on_rejection: true``) a rejected candidate stops the run after
    validate and the exit status is 3.
    """

    def body(args: argparse.Namespace) -> int:
        ctx = entry.context_of(args)
        summary = run_pipeline(
            ctx,
            stop_on_rejection=stops_on_rejection(args, ctx.settings),
            progress=print_progress,
        )
        return report_summary(summary, args.summary, format_summary(summary))

    return main(body, run_all_parser(), argv)
