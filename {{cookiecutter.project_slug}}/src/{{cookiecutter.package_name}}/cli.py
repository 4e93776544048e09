"""Console entry points, one per step plus ``run-all``.

The same functions are the ``python_wheel_task`` entry points of the Databricks
jobs. Every entry point takes ``--env`` (default: $MLOPS_ENV, else ``local``) and
``--config`` (a YAML file merged over the packaged settings). Known failures end
with a one-line message and exit status 1.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from .config import ConfigError, load_settings
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
{%- if cookiecutter.include_streaming_inference %}
    "stream_inference",
{%- endif %}
{%- if cookiecutter.include_monitoring %}
    "monitor",
{%- endif %}
)
KNOWN_ERRORS = (ConfigError, MissingTableError, SparkStartError, LookupError, ValueError)
VIOLATION_EXIT = 2  # `monitor --fail-on-violation` when the window has violations
RETRAIN_STEPS = ("train", "validate", "deploy")


def _parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--env", help="environment in conf/config.yml (default: $MLOPS_ENV or local)"
    )
    parser.add_argument("--config", help="YAML file merged over the packaged settings")
    return parser


def _run_step(step: str, ctx: Context) -> dict:
    module = importlib.import_module(f"{__package__}.steps.{step}")
    return module.run(ctx)


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
            ctx = Context(load_settings(args.env, args.config))
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
validate = _step_entry("validate")
deploy = _step_entry("deploy")
batch_inference = _step_entry("batch_inference")
{%- if cookiecutter.include_streaming_inference %}
stream_inference = _step_entry("stream_inference")
{%- endif %}
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
        ctx = Context(load_settings(args.env, args.config))
        result = _run_step("monitor", ctx)
        print(json.dumps(result, indent=2, default=str))
        return VIOLATION_EXIT if args.fail_on_violation and result["violations"] else 0

    return _main(body, parser, argv)
{%- endif %}

{%- if cookiecutter.include_online_serving %}


def serve(argv: list[str] | None = None) -> int:
    """Entry point ``serve``: the champion version behind a local scoring server (blocks).

    Listens on 127.0.0.1 at ``--port`` (default ``serving.port``) until Ctrl-C, and
    logs every request in the inference table (see :mod:`.serving.server`). Not part
    of run-all.
    """
    from .serving.server import serve_forever

    parser = _parser("Serve the champion model locally and log requests in the inference table.")
    parser.add_argument("--port", type=int, help="port on 127.0.0.1 (default: serving.port)")

    def body(args: argparse.Namespace) -> int:
        serve_forever(Context(load_settings(args.env, args.config)), args.port)
        return 0

    return _main(body, parser, argv)
{%- endif %}


def run_pipeline(
    ctx: Context, steps: tuple[str, ...] = STEPS, retrain_on_drift: bool = False
) -> dict:
    """Run ``steps`` in order in one process and return the summary.

    Summary keys: env, steps (each step's result), seconds (wall time per step),
    rows (rows per table at the end), model_name, champion_version,
    validation (status and metrics), monitoring_violations (count, or None when
    monitoring did not run), retraining_required, and retrained. With
    ``retrain_on_drift``, when monitor reports ``retraining_required``, train,
    validate and deploy run again (results under ``steps`` as ``retrain_<step>``)
    and ``retrained`` is {model_version, status, champion_version}; otherwise
    ``retrained`` is None. A failing step raises; the steps before it are kept.
    """
    results: dict[str, dict] = {}
    seconds: dict[str, float] = {}

    def timed(step: str, key: str) -> None:
        started = time.perf_counter()
        results[key] = _run_step(step, ctx)
        seconds[key] = round(time.perf_counter() - started, 2)

    for step in steps:
        timed(step, step)
    retrained = None
    if retrain_on_drift and results.get("monitor", {}).get("retraining_required"):
        for step in RETRAIN_STEPS:
            timed(step, f"retrain_{step}")
        retrained = {
            "model_version": results["retrain_validate"].get("model_version"),
            "status": results["retrain_validate"].get("status"),
            "champion_version": results["retrain_deploy"].get("champion_version"),
        }
    rows = {name: ctx.tables.count(name) for name in map(ctx.settings.table, ctx.settings.tables)}
    validation = results.get("validate", {})
    monitoring = results.get("monitor")
    return {
        "env": ctx.settings.env,
        "model_name": ctx.settings.model_name,
        "champion_version": results.get("retrain_deploy", results.get("deploy", {})).get(
            "champion_version"
        ),
        "validation": {
            k: validation.get(k)
            for k in ("model_version", "status", "gate_result", "metrics", "reasons")
        },
        "monitoring_violations": len(monitoring["violations"]) if monitoring else None,
        "retraining_required": monitoring["retraining_required"] if monitoring else None,
        "retrained": retrained,
        "rows": rows,
        "seconds": {**seconds, "total": round(sum(seconds.values()), 2)},
        "steps": results,
    }


def format_summary(summary: dict) -> str:
    """The summary as a few readable lines."""
    lines = [f"environment: {summary['env']}", "rows per table:"]
    lines += [f"  {name}: {count:,}" for name, count in summary["rows"].items()]
    validation = summary["validation"]
    lines.append(f"model: {summary['model_name']}  champion version: {summary['champion_version']}")
    metrics = ", ".join(f"{k}={v:.3f}" for k, v in (validation.get("metrics") or {}).items())
    lines.append(
        f"validation of v{validation['model_version']}: {validation['status']} ({metrics})"
    )
    if summary["monitoring_violations"] is not None:
        lines.append(f"monitoring violations: {summary['monitoring_violations']}")
    if summary.get("retrained"):
        r = summary["retrained"]
        lines.append(f"retrained on drift: v{r['model_version']} {r['status']}")
    lines.append(
        "seconds per step: " + ", ".join(f"{k}={v}" for k, v in summary["seconds"].items())
    )
    return "\n".join(lines)


def run_all(argv: list[str] | None = None) -> int:
    """Entry point ``run-all``: every step in order; ``--summary PATH`` writes the summary JSON.

    ``--retrain-on-drift`` runs train, validate and deploy again when monitor
    reports ``retraining_required`` (see :func:`run_pipeline`).
    """
    parser = _parser("Run every pipeline step in one process.")
    parser.add_argument("--summary", type=Path, help="write the run summary as JSON to this path")
    parser.add_argument(
        "--retrain-on-drift",
        action="store_true",
        help="when monitor reports retraining_required, run train, validate and deploy again",
    )

    def body(args: argparse.Namespace) -> int:
        ctx = Context(load_settings(args.env, args.config))
        summary = run_pipeline(ctx, retrain_on_drift=args.retrain_on_drift)
        print(format_summary(summary))
        if args.summary:
            args.summary.parent.mkdir(parents=True, exist_ok=True)
            args.summary.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
        return 0

    return _main(body, parser, argv)
