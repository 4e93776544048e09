"""Entry points of the monitoring option: ``monitor``, and ``run-all`` with the monitor step.

With the option on, the project's ``run-all`` console script points here (see
pyproject.toml): the steps of ``cli.STEPS``, then monitor, and with
``--retrain-on-drift`` train, validate and deploy again when monitor reports
``retraining_required``, as of the monitored date.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from .. import cli, entry
from ..runtime.json_output import json_text

if TYPE_CHECKING:
    from ..runtime.context import Context

VIOLATION_EXIT = 2  # `monitor --fail-on-violation` when the window has violations
RETRAIN_STEPS = ("train", "validate", "deploy")


def monitor(argv: list[str] | None = None) -> int:
    """Entry point ``monitor``: run the step, print its result as JSON.

    With ``--fail-on-violation`` the exit status is 2 when the window has any
    violation (drift, data_quality or insufficient_data), so a scheduler can
    alert on it. Without it the status is 0 whatever the figures (the retraining
    decision is the task value ``retraining_required``).
    """
    parser = entry.parser("Run the monitor step.")
    parser.add_argument(
        "--fail-on-violation",
        action="store_true",
        help="exit with status 2 when the monitored window has violations",
    )

    def body(args: argparse.Namespace) -> int:
        ctx = entry.context_of(args)
        result = entry.run_step("monitor", ctx)
        print(json_text(result))
        return VIOLATION_EXIT if args.fail_on_violation and result["violations"] else 0

    return entry.main(body, parser, argv)


def run_pipeline(
    ctx: Context,
    retrain_on_drift: bool = False,
    stop_on_rejection: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """:func:`cli.run_pipeline` over ``cli.STEPS`` and monitor, then retraining if asked.

    Adds to the summary: monitoring_violations (count, None when the run stopped
    before monitor), retraining_required, and retrained. With ``retrain_on_drift``,
    when monitor reports ``retraining_required``, train, validate and deploy run
    again as of the monitored as-of date (``settings.as_of``), so their windows
    include the drifted weeks (results and seconds under ``retrain_<step>``, rows and
    champion_version after them) and ``retrained`` is {model_version, status,
    metrics, reasons, champion_version, windows}; otherwise None. ``stop_on_rejection`` as in
    :func:`cli.run_pipeline`, for both runs; so is ``progress`` (the retraining steps'
    lines start with ``retrain_``).
    """
    summary = cli.run_pipeline(ctx, (*cli.STEPS, "monitor"), stop_on_rejection, progress)
    monitoring = summary["steps"].get("monitor")
    retrained = None
    if retrain_on_drift and monitoring and monitoring["retraining_required"]:
        later = replace(ctx, settings=ctx.settings.at(ctx.settings.as_of))
        again = cli.run_pipeline(
            later,
            RETRAIN_STEPS,
            stop_on_rejection,
            progress and (lambda line: progress(f"retrain_{line}")),
        )
        for step, result in again["steps"].items():
            summary["steps"][f"retrain_{step}"] = result
            summary["seconds"][f"retrain_{step}"] = again["seconds"][step]
        summary["seconds"]["total"] = round(  # popped and put back: total stays last
            summary["seconds"].pop("total") + again["seconds"]["total"], 2
        )
        summary["rows"] = again["rows"]
        summary["rejected"] = again["rejected"]
        if again["champion_version"] is not None:
            summary["champion_version"] = again["champion_version"]
        verdict = again["validation"]
        retrained = {
            **{k: verdict[k] for k in ("model_version", "status", "metrics", "reasons")},
            "champion_version": again["champion_version"],
            "windows": again["windows"],
        }
    return {
        **summary,
        "monitoring_violations": len(monitoring["violations"]) if monitoring else None,
        "retraining_required": monitoring["retraining_required"] if monitoring else None,
        "retrained": retrained,
    }


def format_summary(summary: dict) -> str:
    """:func:`cli.format_summary` plus the monitoring and retraining lines: the retrained
    version's verdict as :func:`cli.validation_lines` gives it (metrics, failed gates),
    indented under the retraining's windows."""
    lines = [cli.format_summary(summary)]
    if summary["monitoring_violations"] is not None:
        lines.append(f"monitoring violations: {summary['monitoring_violations']}")
    if summary["retrained"]:
        r = summary["retrained"]
        lines.append(
            f"retrained on drift (train {r['windows']['window_train']}, "
            f"validation {r['windows']['window_validation']}):"
        )
        lines += [f"  {line}" for line in cli.validation_lines(r)]
    return "\n".join(lines)


def run_all(argv: list[str] | None = None) -> int:
    """Entry point ``run-all`` with monitoring: every step, then monitor (see :func:`run_pipeline`).

    ``--summary PATH`` writes the summary JSON; ``--retrain-on-drift`` retrains
    when monitor reports ``retraining_required``; ``--fail-on-rejection`` (or
    ``validation.fail_on_rejection: true``) stops on a rejected candidate, exit status 3.
    """
    parser = cli.run_all_parser()
    parser.add_argument(
        "--retrain-on-drift",
        action="store_true",
        help="when monitor reports retraining_required, run train, validate and deploy again",
    )

    def body(args: argparse.Namespace) -> int:
        ctx = entry.context_of(args)
        summary = run_pipeline(
            ctx,
            retrain_on_drift=args.retrain_on_drift,
            stop_on_rejection=cli.stops_on_rejection(args, ctx.settings),
            progress=cli.print_progress,
        )
        return cli.report_summary(summary, args.summary, format_summary(summary))

    return entry.main(body, parser, argv)
