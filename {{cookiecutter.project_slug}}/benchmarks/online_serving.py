"""Requests per second and latency of the local scoring server (``serve``).

Usage: ``python benchmarks/online_serving.py [--root DIR] [--requests 1000] [--env local]``.
Needs a local state with a champion (after ``make pipeline``, DIR is ``local_runtime``).
Starts the server in this process on a free port of 127.0.0.1, sends ``--requests``
single-row requests one after another, then ``--requests / 10`` requests of 100 rows,
all rows taken from the batch predictions table of the scoring window (batch inference
runs first when that table is missing), and prints JSON: per request size, requests
per second, rows per second and p50/p99 latency in milliseconds (client side, one
connection). Every request is logged in the inference table like any other.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import requests

from {{ cookiecutter.package_name }}.config import load_settings
from {{ cookiecutter.package_name }}.runtime.context import Context
from {{ cookiecutter.package_name }}.serving import server
from {{ cookiecutter.package_name }}.steps import batch_inference

NOT_INPUTS = {"prediction", "model_version", "scored_at"}


def records(ctx: Context, count: int) -> list[dict]:
    """``count`` rows of the predictions table as request records (key, event time, inputs)."""
    table = ctx.settings.table("predictions")
    if not ctx.tables.exists(table):
        batch_inference.run(ctx)
    contract = ctx.settings.contract
    rows = ctx.tables.read(table).orderBy(*contract.entity_keys).limit(count).collect()
    out = []
    for row in rows:
        record = {k: v for k, v in row.asDict().items() if k not in NOT_INPUTS}
        event = contract.event_timestamp
        record[event] = record[event].isoformat()
        out.append(record)
    return out


def measure(url: str, bodies: list[str]) -> dict:
    """Send ``bodies`` one after another on one connection; return throughput and latency."""
    latencies = []
    with requests.Session() as session:
        started = time.perf_counter()
        for body in bodies:
            sent = time.perf_counter()
            answer = session.post(
                url, data=body, headers={"Content-Type": "application/json"}, timeout=60
            )
            answer.raise_for_status()
            latencies.append((time.perf_counter() - sent) * 1000)
        seconds = time.perf_counter() - started
    return {
        "requests": len(bodies),
        "requests_per_second": round(len(bodies) / seconds, 1),
        "p50_ms": round(float(np.percentile(latencies, 50)), 2),
        "p99_ms": round(float(np.percentile(latencies, 99)), 2),
    }


def main(argv=None) -> int:
    """Start the server, run both measurements, stop it, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, help="local state folder (default: local_root)")
    parser.add_argument("--requests", type=int, default=1000, help="single-row requests")
    parser.add_argument("--env", default="local")
    args = parser.parse_args(argv)
    settings = load_settings(args.env)
    if args.root:
        settings = replace(settings, local_root=args.root.resolve())
    ctx = Context(settings)
    rows = records(ctx, max(args.requests, 100))
    n = args.requests
    singles = [json.dumps({"dataframe_records": [rows[i % len(rows)]]}) for i in range(n)]
    blocks = [json.dumps({"dataframe_records": rows[:100]})] * max(n // 10, 1)
    running = server.start(ctx, port=0)
    try:
        url = f"{running.url}/invocations"
        measure(url, singles[:20])  # warm-up, not counted
        single = measure(url, singles)
        block = measure(url, blocks)
    finally:
        running.stop()
    single["rows_per_second"] = single["requests_per_second"]
    block["rows_per_second"] = round(block["requests_per_second"] * 100, 1)
    result = {
        "model_version": running.model_version,
        "single_row": single,
        "rows_100": block,
        "log_commits": running.log.commits,
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
