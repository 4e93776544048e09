"""Console entry points, one per step plus ``run-all``.

The same functions are the ``python_wheel_task`` entry points of the Databricks
jobs. Every entry point takes ``--env`` (default: $MLOPS_ENV, else ``local``),
``--config`` (a YAML file merged over the packaged settings) and ``--as-of
YYYY-MM-DD`` (the step reads only data before that day, UTC; default: the pins in
the settings, else today). Known failures end with a one-line message and exit
status 1.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from .config import ConfigError, Settings, load_settings, parse_as_of
from .gates import fails_on_rejection
from .registry import FAILED
from .runtime.context import Context
from .runtime.spark import SparkStartError
from .runtime.tables import MissingTableError

STEPS = (
    "ingest",
    "features",
    "train",
    "validate",
    "deploy",
    "batch_inference",
{%- if cookiecutter.include_monitoring %}
    "monitor",
{%- endif %}
)
KNOWN_ERRORS = (ConfigError, MissingTableError, SparkStartError, LookupError, ValueError)
VIOLATION_EXIT = 2  # `monitor --fail-on-violation` when the window has violations
REJECTION_EXIT = 3  # `validate` / `run-all --fail-on-rejection` when the candidate is rejected
RETRAIN_STEPS = ("train", "validate", "deploy")
HANDOFF = {"validate": "train", "deploy": "validate"}  # step: the step whose model_version it takes


def _parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--env", help="environment in conf/config.yml (default: $MLOPS_ENV or local)"
    )
    parser.add_argument("--config", help="YAML file merged over the packaged settings")
    parser.add_argument(
        "--as-of",
        metavar="YYYY-MM-DD",
        help="use only data before this date (midnight UTC); windows end here "
        "(default: windows.as_of / windows.training_as_of in the settings, else today)",
    )
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    """Settings of ``--env`` and ``--config``, as of ``--as-of`` when given.

    An empty ``--as-of`` counts as not given. Raises ConfigError for a bad date.
    """
    as_of = parse_as_of(args.as_of) if args.as_of else None
    return load_settings(args.env, args.config, as_of)


def _run_step(step: str, ctx: Context, **kwargs) -> dict:
    module = importlib.import_module(f"{__package__}.steps.{step}")
    return module.run(ctx, **kwargs)


def _model_version(text: str) -> int:
    """``--model-version``: a positive integer."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(
            f"must be a positive integer (a model version), got {text!r}"
        )
    return int(text)


def _version_entry(step: str, default: str, rejection: bool = False):
    """Entry point of a step that acts on one model version (``--model-version``)."""

    def entry(argv: list[str] | None = None) -> int:
        parser = _parser(f"Run the {step} step.")
        parser.add_argument(
            "--model-version", type=_model_version, help=f"model version (default: {default})"
        )
        if rejection:
            parser.add_argument(
                "--fail-on-rejection",
                action="store_true",
                help="exit with status 3 when the candidate is rejected "
                "(also: validation.fail_on_rejection in the config)",
            )

        def body(args: argparse.Namespace) -> int:
            ctx = Context(_settings(args))
            fail = rejection and (fails_on_rejection(ctx.settings) or args.fail_on_rejection)
            result = _run_step(step, ctx, version=args.model_version)
            print(json.dumps(result, indent=2, default=str))
            return REJECTION_EXIT if fail and result["status"] == FAILED else 0

        return _main(body, parser, argv)

    entry.__name__ = step
    return entry


def _main(body: Callable[[argparse.Namespace], int], parser: argparse.ArgumentParser, argv) -> int:
    args = parser.parse_args(argv)
    try:
        return body(args)
    except KNOWN_ERRORS as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


def _step_entry(step: str) -> Callable[[list[str] | None], int]:
    def entry(argv: list[str] | None = None) -> int:
        def body(args: argparse.Namespace) -> int:
            ctx = Context(_settings(args))
            print(json.dumps(_run_step(step, ctx), indent=2, default=str))
            return 0

        return _main(body, _parser(f"Run the {step} step."), argv)

    entry.__name__ = step
    entry.__doc__ = (
        f"Entry point of the {step} step: parse arguments, run, print the result as JSON."
    )
    return entry


ingest = _step_entry("ingest")
features = _step_entry("features")
train = _step_entry("train")
validate = _version_entry("validate", "the highest-numbered", rejection=True)
validate.__doc__ = """Entry point ``validate``: judge one model version, print the verdict as JSON.

``--model-version N`` picks the version (default: the highest-numbered). With
``--fail-on-rejection`` or ``validation.fail_on_rejection: true`` the exit status
is 3 when the candidate is rejected (``status`` FAILED), else 0.
"""
deploy = _version_entry("deploy", "the one the challenger alias points at")
deploy.__doc__ = """Entry point ``deploy``: promote one validated version, print the outcome.

``--model-version N`` picks the version (default: the one the challenger alias
points at, that is the last one validated).
"""
batch_inference = _step_entry("batch_inference")
rollback = _step_entry("rollback")  # by hand only: not in STEPS
{%- if cookiecutter.include_monitoring %}


def monitor(argv: list[str] | None = None) -> int:
    """Entry point ``monitor``: run the step, print its result as JSON.

    With ``--fail-on-violation`` the exit status is 2 when the window has any
    violation (drift, data quality or error), so a scheduler can alert on it.
    Without it the status is 0 whatever the figures (the retraining decision is
    the task value ``retraining_required``).
    """
    parser = _parser("Run the monitor step.")
    parser.add_argument(
        "--fail-on-violation",
        action="store_true",
        help="exit with status 2 when the monitored window has violations",
    )

    def body(args: argparse.Namespace) -> int:
        ctx = Context(_settings(args))
        result = _run_step("monitor", ctx)
        print(json.dumps(result, indent=2, default=str))
        return VIOLATION_EXIT if args.fail_on_violation and result["violations"] else 0

    return _main(body, parser, argv)
{%- endif %}


def run_pipeline(
    ctx: Context,
    steps: tuple[str, ...] = STEPS,
    retrain_on_drift: bool = False,
    stop_on_rejection: bool = False,
) -> dict:
    """Run ``steps`` in order in one process and return the summary.

    validate judges the version train registered in this run, and deploy acts on
    the version validate judged (``model_version`` handed on, see ``HANDOFF``).
    Summary keys: env, windows (as-of dates and windows, see
    :meth:`Settings.window_tags`), steps (each step's result), seconds (wall time per step),
    rows (rows per table at the end), model_name, champion_version,
    validation (status, gates, metrics, reasons), monitoring_violations (count, or
    None when monitoring did not run), retraining_required, retrained and rejected.
    With ``retrain_on_drift``, when monitor reports ``retraining_required``, train,
    validate and deploy run again (results under ``steps`` as ``retrain_<step>``)
    and ``retrained`` is {model_version, status, champion_version, windows}; otherwise
    ``retrained`` is None. The retraining runs as of the monitored as-of date
    (``settings.as_of``), so its windows include the drifted weeks; its version
    carries its windows as tags. With ``stop_on_rejection``, a rejected candidate
    (validate status FAILED) ends the run right after validate and ``rejected`` is
    its version; otherwise ``rejected`` is None. A failing step raises; the steps
    before it are kept.
    """
    results: dict[str, dict] = {}
    seconds: dict[str, float] = {}

    def timed(step: str, key: str, prefix: str = "") -> bool:
        """Run ``step``; False when it is a rejecting validate and the run must stop."""
        started = time.perf_counter()
        source = results.get(prefix + HANDOFF.get(step, ""))
        handoff = {"version": source["model_version"]} if source else {}
        results[key] = _run_step(step, ctx, **handoff)
        seconds[key] = round(time.perf_counter() - started, 2)
        return not (stop_on_rejection and step == "validate" and results[key]["status"] == FAILED)

    rejected = None
    for step in steps:
        if not timed(step, step):
            rejected = results[step]["model_version"]
            break
    windows = ctx.settings.window_tags()
    retrained = None
    if retrain_on_drift and results.get("monitor", {}).get("retraining_required"):
        ctx = replace(ctx, settings=ctx.settings.at(ctx.settings.as_of))
        for step in RETRAIN_STEPS:
            if not timed(step, f"retrain_{step}", "retrain_"):
                rejected = results[f"retrain_{step}"]["model_version"]
                break
        retrained = {
            "model_version": results["retrain_validate"].get("model_version"),
            "status": results["retrain_validate"].get("status"),
            "champion_version": results.get("retrain_deploy", {}).get("champion_version"),
            "windows": ctx.settings.window_tags(),
        }
    rows = {name: ctx.tables.count(name) for name in map(ctx.settings.table, ctx.settings.tables)}
    validation = results.get("validate", {})
    monitoring = results.get("monitor")
    return {
        "env": ctx.settings.env,
        "windows": windows,
        "model_name": ctx.settings.model_name,
        "champion_version": results.get("retrain_deploy", results.get("deploy", {})).get(
            "champion_version"
        ),
        "validation": {
            k: validation.get(k)
            for k in ("model_version", "status", "gate_result", "gates", "metrics", "reasons")
        },
        "monitoring_violations": len(monitoring["violations"]) if monitoring else None,
        "retraining_required": monitoring["retraining_required"] if monitoring else None,
        "retrained": retrained,
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
    validation = summary["validation"]
    lines.append(f"model: {summary['model_name']}  champion version: {summary['champion_version']}")
    metrics = ", ".join(f"{k}={v:.3f}" for k, v in (validation.get("metrics") or {}).items())
    lines.append(
        f"validation of v{validation['model_version']}: {validation['status']} ({metrics})"
    )
    if validation.get("reasons"):
        lines += [f"  failed gate: {reason}" for reason in validation["reasons"]]
    if summary.get("rejected") is not None:
        lines.append(f"stopped after validate: v{summary['rejected']} was rejected")
    if summary["monitoring_violations"] is not None:
        lines.append(f"monitoring violations: {summary['monitoring_violations']}")
    if summary.get("retrained"):
        r = summary["retrained"]
        lines.append(
            f"retrained on drift: v{r['model_version']} {r['status']} "
            f"(train {r['windows']['window_train']}, "
            f"validation {r['windows']['window_validation']})"
        )
    lines.append(
        "seconds per step: " + ", ".join(f"{k}={v}" for k, v in summary["seconds"].items())
    )
    return "\n".join(lines)


def run_all(argv: list[str] | None = None) -> int:
    """Entry point ``run-all``: every step in order; ``--summary PATH`` writes the summary JSON.

    ``--retrain-on-drift`` runs train, validate and deploy again when monitor
    reports ``retraining_required`` (see :func:`run_pipeline`). With
    ``--fail-on-rejection`` (or ``validation.fail_on_rejection: true``) a rejected
    candidate stops the run after validate and the exit status is 3.
    """
    parser = _parser("Run every pipeline step in one process.")
    parser.add_argument("--summary", type=Path, help="write the run summary as JSON to this path")
    parser.add_argument(
        "--retrain-on-drift",
        action="store_true",
        help="when monitor reports retraining_required, run train, validate and deploy again",
    )
    parser.add_argument(
        "--fail-on-rejection",
        action="store_true",
        help="stop after validate and exit with status 3 when the candidate is rejected",
    )

    def body(args: argparse.Namespace) -> int:
        ctx = Context(_settings(args))
        fail = fails_on_rejection(ctx.settings) or args.fail_on_rejection
        summary = run_pipeline(ctx, retrain_on_drift=args.retrain_on_drift, stop_on_rejection=fail)
        print(format_summary(summary))
        if args.summary:
            args.summary.parent.mkdir(parents=True, exist_ok=True)
            args.summary.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
        return REJECTION_EXIT if summary["rejected"] is not None else 0

    return _main(body, parser, argv)
