"""Seconds of stream-inference runs on the real data: the first run over November-December,
then an incremental run after one more day is appended to bronze.

Usage: ``python benchmarks/streaming.py [--root DIR]`` (default: a new temporary folder).
Builds its own local state under DIR: ingest of Oct 18 - Dec 30 2013 (UTC), features,
train on Oct 18-27, validate (dry run), deploy; then times ``stream-inference`` twice
and prints the figures as JSON. Needs the project installed with its ``local`` extra.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from {{ cookiecutter.package_name }}.config import Window, load_settings
from {{ cookiecutter.package_name }}.runtime.context import Context
from {{ cookiecutter.package_name }}.steps import (
    deploy,
    features,
    ingest,
    stream_inference,
    train,
    validate,
)


def utc(*args) -> datetime:
    """A UTC datetime."""
    return datetime(*args, tzinfo=UTC)


WINDOWS = {  # a small training set: the figures are about the stream, not the model
    "train": Window(utc(2013, 10, 18), utc(2013, 10, 28)),
    "validation": Window(utc(2013, 10, 28), utc(2013, 11, 1)),
    "scoring": Window(utc(2013, 11, 1), utc(2014, 1, 1)),
}


def timed(step, ctx: Context) -> tuple[dict, float]:
    """Run ``step`` on ``ctx``; return its result and wall seconds."""
    started = time.perf_counter()
    result = step.run(ctx)
    return result, round(time.perf_counter() - started, 2)


def main(argv=None) -> int:
    """Build the state, time the two stream runs, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, help="folder of the local state (default: temp)")
    args = parser.parse_args(argv)
    root = (args.root or Path(tempfile.mkdtemp(prefix="stream-bench-"))).resolve()
    base = load_settings("local")
    settings = replace(
        base,
        local_root=root,
        windows=WINDOWS,
        source={**base.source, "start": "2013-10-18", "end": "2013-12-31"},
        validation={**base.validation, "mode": "dry_run"},
    )
    ctx = Context(settings)
    setup = {}
    for step in (ingest, features, train, validate, deploy):
        setup[step.__name__.rsplit(".", 1)[-1]] = timed(step, ctx)[1]
    first, first_seconds = timed(stream_inference, ctx)
    later = Context(replace(settings, source={**settings.source, "end": "2014-01-01"}))
    appended = ingest.run(later)["appended"][settings.table("flights_bronze")]
    features.run(later)
    second, second_seconds = timed(stream_inference, later)
    print(
        json.dumps(
            {
                "root": str(root),
                "setup_seconds": setup,
                "first_run": {"rows_scored": first["rows_scored"], "seconds": first_seconds},
                "incremental_run": {
                    "rows_appended": appended,
                    "rows_scored": second["rows_scored"],
                    "seconds": second_seconds,
                },
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
