"""Console entry points of the rag use case, one per step plus ``run-all``.

The same functions are the ``python_wheel_task`` entry points of the Databricks
jobs. Every entry point takes ``--env`` (default: $MLOPS_ENV, else ``local``) and
``--config`` (a YAML file merged over the packaged settings). Known failures end
with a one-line message and exit status 1.
"""

from __future__ import annotations

import argparse
import importlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .rag import entry
from .runtime.json_output import json_text

if TYPE_CHECKING:  # imports Spark and MLflow: entry.context loads it when a step runs
    from .runtime.context import Context

STEPS = (
    "ingest_documents",
    "index",
    "register_prompt",
    "build",
    "evaluate",
    "deploy",
    "monitor",
)
ALARM_EXIT = 2  # `monitor --fail-on-alarm` when the window raised an alarm
REJECTED_EXIT = 3  # a rejected candidate with `evaluation.fail_on_rejection: true`


def _run_step(step: str, ctx: Context, **kwargs) -> dict:
    module = importlib.import_module(f"{__package__}.rag.steps.{step}")
    return module.run(ctx, **kwargs)


def _print(result: dict) -> None:
    print(json_text(result))


# Steps of the QA pipeline job before evaluate: they check the prompt and the evaluation
# set first (:func:`.rag.entry.pipeline_context`), as run-all does. The indexing job,
# deploy and rollback read neither.
CHECKS_PACKAGED_FILES = ("register_prompt", "build")


def _step_entry(step: str) -> Callable[[list[str] | None], int]:
    context = entry.pipeline_context if step in CHECKS_PACKAGED_FILES else entry.context

    def run_step(argv: list[str] | None = None) -> int:
        def body(args: argparse.Namespace) -> int:
            _print(_run_step(step, context(args)))
            return 0

        return entry.main(body, entry.parser(f"Run the {step} step."), argv)

    run_step.__name__ = step
    run_step.__doc__ = (
        f"Entry point of the {step} step: parse arguments, run, print the result as JSON."
    )
    return run_step


ingest_documents = _step_entry("ingest_documents")
index = _step_entry("index")
register_prompt = _step_entry("register_prompt")
build = _step_entry("build")


def stops_on(verdict: dict, ctx: Context) -> bool:
    """Whether ``verdict`` (evaluate's result) is a rejection that must fail the run.

    True when the gate refused the candidate (status FAILED, so mode ``enabled``) and
    the settings say ``evaluation.fail_on_rejection: true``.
    """
    return verdict.get("status") == "FAILED" and ctx.settings.evaluation["fail_on_rejection"]


def evaluate(argv: list[str] | None = None) -> int:
    """Entry point ``evaluate``: print the verdict as JSON.

    Exit status 3 when the candidate was rejected and ``evaluation.fail_on_rejection``
    is true (the ``test`` target: a CI job fails on a candidate the gate refuses).
    """

    def body(args: argparse.Namespace) -> int:
        ctx = entry.pipeline_context(args)
        verdict = _run_step("evaluate", ctx)
        _print(verdict)
        return REJECTED_EXIT if stops_on(verdict, ctx) else 0

    return entry.main(body, entry.parser("Run the evaluate step."), argv)


deploy = _step_entry("deploy")
rollback = _step_entry("rollback")  # by hand only: not in STEPS


def monitor(argv: list[str] | None = None) -> int:
    """Entry point ``monitor``: print the window's figures and alarms as JSON.

    With ``--fail-on-alarm`` the exit status is 2 when an alarm was raised.
    """
    parser = entry.parser("Run the monitor step.")
    parser.add_argument("--fail-on-alarm", action="store_true", help="exit 2 on any alarm")

    def body(args: argparse.Namespace) -> int:
        result = _run_step("monitor", entry.context(args))
        _print(result)
        return ALARM_EXIT if args.fail_on_alarm and result["alarms"] else 0

    return entry.main(body, parser, argv)


def ask(argv: list[str] | None = None) -> int:
    """Entry point ``ask``: the champion's answers (with trace ids) to the questions given.

    When a question raises, the answers given before it and the questions left
    (``answers``, ``unanswered``: :data:`.rag.steps.ask.ANSWERED`) are printed as JSON
    first, then the error (one line on stderr, exit status 1 for a known error).
    """
    parser = entry.parser("Answer questions with the champion QA model.")
    parser.add_argument("question", nargs="+", help="one or more questions")

    def body(args: argparse.Namespace) -> int:
        from .rag.steps.ask import ANSWERED

        try:
            result = _run_step("ask", entry.context(args), questions=args.question)
        except Exception as err:
            if getattr(err, ANSWERED, None) is not None:
                _print(getattr(err, ANSWERED))
            raise
        _print(result)
        return 0

    return entry.main(body, parser, argv)


def feedback(argv: list[str] | None = None) -> int:
    """Entry point ``feedback``: record a human rating (up/down) on an answer's trace."""
    parser = entry.parser("Record feedback on an answer.")
    parser.add_argument("--trace-id", required=True, help="trace_id printed by ask")
    parser.add_argument("--rating", required=True, choices=["up", "down"])
    parser.add_argument("--user", required=True, help="who rates")
    parser.add_argument("--comment", default="")

    def body(args: argparse.Namespace) -> int:
        from .rag.serving import record_feedback

        ctx = entry.context(args)
        _print(record_feedback(ctx, args.trace_id, args.rating, args.user, args.comment))
        return 0

    return entry.main(body, parser, argv)


def run_pipeline(ctx: Context, steps: tuple[str, ...] = STEPS) -> dict:
    """Run ``steps`` in order in one process and return the summary.

    Summary keys: env, model_name, champion_version (the champion at the end of the run:
    deploy's, else the registry's, None when there is none), evaluation (model_version,
    status, gate_result, metrics, reasons), rows (per table at the end), seconds
    (wall time per step and total), steps (each step's result) and rejected (True
    when a refused candidate stopped the run after evaluate: see :func:`stops_on`).
    A failing step raises; the steps before it are kept.
    """
    results: dict[str, dict] = {}
    seconds: dict[str, float] = {}
    rejected = False
    for step in steps:
        started = time.perf_counter()
        results[step] = _run_step(step, ctx)
        seconds[step] = round(time.perf_counter() - started, 2)
        if step == "evaluate" and stops_on(results[step], ctx):
            rejected = True
            break
    from .registry import champion_after_run  # loads MLflow, as the steps have

    tables = ctx.settings.tables
    rows = {name: ctx.tables.count(name) for name in map(ctx.settings.table, tables)}
    evaluation = results.get("evaluate", {})
    return {
        "env": ctx.settings.env,
        "model_name": ctx.settings.model_name,
        "champion_version": champion_after_run(ctx, results),
        "evaluation": {
            k: evaluation.get(k)
            for k in ("model_version", "status", "gate_result", "metrics", "reasons", "questions")
        },
        "rows": rows,
        "seconds": {**seconds, "total": round(sum(seconds.values()), 2)},
        "steps": results,
        "rejected": rejected,
    }


def format_summary(summary: dict) -> str:
    """The summary as a few readable lines: rows per table, the model and its champion
    version, the evaluation's verdict and metrics, one ``  failed gate: <reason>`` line per
    reason the evaluation gives (a refusal's, or under ``dry_run`` those of the gates that
    failed while the verdict stays PASSED), ``stopped after evaluate: v<N> was rejected``
    when that stopped the run, the monitor step's alarms when it ran (``monitor alarms:
    <count>``, then one ``  alarm: <text>`` line each), and seconds per step."""
    lines = [f"environment: {summary['env']}", "rows per table:"]
    lines += [f"  {name}: {count:,}" for name, count in summary["rows"].items()]
    evaluation = summary["evaluation"]
    lines.append(f"model: {summary['model_name']}  champion version: {summary['champion_version']}")
    scores = sorted((evaluation.get("metrics") or {}).items())  # the same order every run
    metrics = ", ".join(f"{k}={v:.3f}" for k, v in scores)
    lines.append(
        f"evaluation of v{evaluation['model_version']} on {evaluation['questions']} questions: "
        f"{evaluation['status']} ({metrics})"
    )
    lines += [f"  failed gate: {reason}" for reason in evaluation.get("reasons") or []]
    if summary.get("rejected"):
        lines.append(f"stopped after evaluate: v{evaluation['model_version']} was rejected")
    monitor = summary.get("steps", {}).get("monitor")
    if monitor is not None:
        lines.append(f"monitor alarms: {len(monitor['alarms'])}")
        lines += [f"  alarm: {alarm}" for alarm in monitor["alarms"]]
    lines.append(
        "seconds per step: " + ", ".join(f"{k}={v}" for k, v in summary["seconds"].items())
    )
    return "\n".join(lines)


def run_all(argv: list[str] | None = None) -> int:
    """Entry point ``run-all``: every step in order; ``--summary PATH`` writes the summary JSON.

    Exit status 3 when a rejected candidate stopped the run (``evaluation.fail_on_rejection``).
    """
    parser = entry.parser("Run every pipeline step in one process.")
    parser.add_argument("--summary", type=Path, help="write the run summary as JSON to this path")

    def body(args: argparse.Namespace) -> int:
        summary = run_pipeline(entry.pipeline_context(args))
        print(format_summary(summary))
        if args.summary:
            args.summary.parent.mkdir(parents=True, exist_ok=True)
            args.summary.write_text(json_text(summary) + "\n", encoding="utf-8")
        return REJECTED_EXIT if summary["rejected"] else 0

    return entry.main(body, parser, argv)
