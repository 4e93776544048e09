"""Where ``run-all``'s time goes, step by step: profile, Spark jobs, Delta commits.

Usage: ``python benchmarks/profile_steps.py [--root DIR] [--env local] [--config FILE]
[--top N]``. Runs the same steps as ``run-all`` in this process on a fresh local
state under DIR (default: a new temporary folder) and prints, per step, as JSON
(one line as each step ends, then the whole report):

- ``seconds``: wall time of the step;
- ``spark_jobs``: Spark jobs the process started after the step began, read once its
  profile and Delta versions are taken (the steps run one after another, so these are
  the step's: its own thread's, its side-by-side threads' and a streaming query's
  micro-batches, which Spark runs in the query's job group);
- ``spark_job_seconds``: seconds of the step during which at least one of those jobs ran
  (jobs side by side count once); the rest of ``seconds`` is Python, query planning,
  Delta commits and MLflow between jobs;
- ``delta_commits``: new commits per table (files added to its ``_delta_log``);
- ``jvm_wait``: seconds the Python side spent waiting on the JVM (py4j calls);
- ``mlflow``: seconds inside MLflow's logging and registry calls;
- ``top``: the project's own functions with the most cumulative seconds.

Spark start is measured on its own (``spark_start``). Local runtime only. The profile
(``jvm_wait``, ``mlflow``, ``top``) is of the step's own thread: work it runs in threads
of their own (ingest's tables side by side, train's training-set write) counts as the
wall time of the call that waits for it (``runtime/side_by_side.py:each_at_once``, or
train's own wait for its write).
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import json
import pstats
import tempfile
import time
from dataclasses import replace
from importlib.metadata import entry_points
from pathlib import Path

from {{ cookiecutter.package_name }} import cli, entry
from {{ cookiecutter.package_name }}.config import load_settings
from {{ cookiecutter.package_name }}.runtime.context import Context

PACKAGE = Path(cli.__file__).parent


def delta_versions(root: Path) -> dict[str, int]:
    """Commit files (``_delta_log/*.json``) per Delta table folder under ``root``."""
    return {
        str(log.parent.relative_to(root)): len(list(log.glob("*.json")))
        for log in root.rglob("_delta_log")
    }


def _seconds_in(stats: pstats.Stats, match) -> float:
    """Cumulative seconds of the outermost profiled functions whose file matches ``match``."""
    total = 0.0
    for (file, _, _), (_, _, _, cumulative, callers) in stats.stats.items():
        if match(file) and not any(match(caller[0]) for caller in callers):
            total += cumulative
    return round(total, 2)


def _top(stats: pstats.Stats, count: int) -> list[tuple[str, float]]:
    own = [
        (f"{Path(file).relative_to(PACKAGE)}:{name}", round(cumulative, 2))
        for (file, _, name), (_, _, _, cumulative, _) in stats.stats.items()
        if file.startswith(str(PACKAGE)) and not file.endswith("cli.py")
    ]
    return sorted(own, key=lambda item: -item[1])[:count]


def _listed_jobs(context):
    """Spark's status-store list of the jobs ``context`` (a classic SparkContext) knows,
    newest first (a Scala ``Seq`` of ``JobData``), once the store has taken in every job
    event posted so far (its listener bus fills it on a thread of its own;
    ``waitUntilEmpty`` raises after 10 s). The store keeps the last
    ``spark.ui.retainedJobs`` jobs (default 1,000)."""
    jvm_context = context._jsc.sc()
    jvm_context.listenerBus().waitUntilEmpty()
    return jvm_context.statusStore().jobsList(None)


def newest_job(context) -> int:
    """The id of the newest Spark job ``context`` knows, -1 when none
    (:func:`_listed_jobs`)."""
    listed = _listed_jobs(context)
    return listed.head().jobId() if listed.nonEmpty() else -1


def jobs_after(context, newest: int) -> list[tuple[float, float | None]]:
    """(submission, completion) of every Spark job of ``context`` newer than job ``newest``
    (an id from :func:`newest_job`), in seconds since the epoch; completion is None for a
    job still running. The list is newest first (:func:`_listed_jobs`), so the walk stops
    at ``newest``."""
    spans, listed = [], _listed_jobs(context).iterator()
    while listed.hasNext():
        job = listed.next()
        if job.jobId() <= newest:
            break
        submitted, completed = job.submissionTime(), job.completionTime()
        if submitted.isDefined():
            end = completed.get().getTime() / 1000 if completed.isDefined() else None
            spans.append((submitted.get().getTime() / 1000, end))
    return spans


def covered_seconds(spans: list[tuple[float, float]]) -> float:
    """Seconds covered by at least one of ``spans`` ((start, end) pairs, seconds): the
    length of their union, so spans that overlap count once. 0 for none."""
    covered, reach = 0.0, None
    for start, end in sorted(spans):
        if reach is None or start > reach:
            covered += end - start
            reach = end
        elif end > reach:
            covered += end - reach
            reach = end
    return covered


def main(argv: list[str] | None = None) -> int:
    """Run the pipeline's steps under the profiler and print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, help="folder of the local state (default: temp)")
    parser.add_argument("--env", help="environment in conf/config.yml (default: local)")
    parser.add_argument("--config", help="YAML file merged over the packaged settings")
    parser.add_argument("--top", type=int, default=8, help="functions listed per step")
    args = parser.parse_args(argv)
    root = (args.root or Path(tempfile.mkdtemp(prefix="profile-"))).resolve()
    ctx = Context(replace(load_settings(args.env, args.config), local_root=root))
    started = time.perf_counter()
    spark_context = ctx.spark.sparkContext  # Spark starts here
    report: dict = {"spark_start": round(time.perf_counter() - started, 2), "steps": {}}
    run_step = entry.run_step

    def profiled(step: str, context: Context, **kwargs) -> dict:
        newest = newest_job(spark_context)
        commits = delta_versions(root)
        profile = cProfile.Profile()
        began = time.perf_counter()
        try:
            return profile.runcall(run_step, step, context, **kwargs)
        finally:
            seconds, ended = time.perf_counter() - began, time.time()
            stats = pstats.Stats(profile)
            after = delta_versions(root)
            jobs = jobs_after(spark_context, newest)
            report["steps"][step] = {
                "seconds": round(seconds, 2),
                "spark_jobs": len(jobs),
                "spark_job_seconds": round(
                    covered_seconds([(start, end or max(start, ended)) for start, end in jobs]), 2
                ),
                "delta_commits": {
                    table: n - commits.get(table, 0)
                    for table, n in after.items()
                    if n != commits.get(table, 0)
                },
                "jvm_wait": _seconds_in(stats, lambda f: "py4j" in f),
                "mlflow": _seconds_in(stats, lambda f: "/mlflow/" in f),
                "top": _top(stats, args.top),
            }
            print(json.dumps({step: report["steps"][step]}), flush=True)  # one line per step

    entry.run_step = profiled
    try:
        summary = _pipeline()(ctx)
    finally:
        entry.run_step = run_step
    report["run_all_seconds"] = summary["seconds"]
    print(json.dumps(report, indent=2))
    return 0


def _pipeline():
    """The pipeline function behind the installed ``run-all`` console script."""
    (script,) = entry_points(group="console_scripts", name="run-all")
    return importlib.import_module(script.module).run_pipeline


if __name__ == "__main__":
    raise SystemExit(main())
