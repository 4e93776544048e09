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
)
KNOWN_ERRORS = (ConfigError, MissingTableError, SparkStartError, LookupError, ValueError)


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
rollback = _step_entry("rollback")  # by hand only: not in STEPS


def run_pipeline(ctx: Context, steps: tuple[str, ...] = STEPS) -> dict:
    """Run ``steps`` in order in one process and return the summary.

    Summary keys: env, steps (each step's result), seconds (wall time per step),
    rows (rows per table at the end), model_name, champion_version, and
    validation (status and metrics). A failing step raises; the steps before it
    are kept.
    """
    results: dict[str, dict] = {}
    seconds: dict[str, float] = {}
    for step in steps:
        started = time.perf_counter()
        results[step] = _run_step(step, ctx)
        seconds[step] = round(time.perf_counter() - started, 2)
    rows = {name: ctx.tables.count(name) for name in map(ctx.settings.table, ctx.settings.tables)}
    validation = results.get("validate", {})
    return {
        "env": ctx.settings.env,
        "model_name": ctx.settings.model_name,
        "champion_version": results.get("deploy", {}).get("champion_version"),
        "validation": {
            k: validation.get(k)
            for k in ("model_version", "status", "gate_result", "metrics", "reasons")
        },
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
    lines.append(
        "seconds per step: " + ", ".join(f"{k}={v}" for k, v in summary["seconds"].items())
    )
    return "\n".join(lines)


def run_all_parser() -> argparse.ArgumentParser:
    """The arguments of ``run-all``: --env, --config and ``--summary PATH``."""
    parser = _parser("Run every pipeline step in one process.")
    parser.add_argument("--summary", type=Path, help="write the run summary as JSON to this path")
    return parser


def report_summary(summary: dict, path: Path | None, text: str) -> int:
    """Print ``text`` (the readable summary), write ``summary`` as JSON to ``path`` if set; 0."""
    print(text)
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    return 0


def run_all(argv: list[str] | None = None) -> int:
    """Entry point ``run-all``: every step in order; ``--summary PATH`` writes the summary JSON."""

    def body(args: argparse.Namespace) -> int:
        summary = run_pipeline(Context(load_settings(args.env, args.config)))
        return report_summary(summary, args.summary, format_summary(summary))

    return _main(body, run_all_parser(), argv)
