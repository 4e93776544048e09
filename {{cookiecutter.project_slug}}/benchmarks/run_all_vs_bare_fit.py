"""Seconds of ``run-all`` on the full data against the bare pandas + scikit-learn fit.

Usage: ``python benchmarks/run_all_vs_bare_fit.py [--root DIR] [--env local] [--config FILE]``
(default root: a new temporary folder). In one run:

1. runs the ``run-all`` console script on a fresh local state under DIR
   (``MLOPS_LOCAL_ROOT``) and reads its summary: seconds per step as run-all
   reports them, and the wall seconds of the whole process (Spark start included);
2. lists the Parquet files of the current version of the training set run-all wrote
   (Spark, not timed);
3. in a fresh Python process, times reading those files with pandas, keeping the
   rows of split ``train`` (the rows train fits on) and fitting
   :func:`{{ cookiecutter.package_name }}.modeling.build_pipeline`
   with ``training`` from the same settings.

Prints JSON: ``run_all`` (seconds per step, ``total``, ``wall``), ``bare_fit``
(``rows``, ``load``, ``fit``, ``total`` seconds) and ``ratio`` (run-all total over the
bare total; ``wall_ratio`` uses the process wall time). Needs the project installed
with its ``local`` extra. The machine's load average is printed too: on a shared
machine the figures are upper bounds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

LOAD_AVERAGE = "load_average_1_5_15"


def _settings(env: str | None, config: str | None, root: Path):
    from {{ cookiecutter.package_name }}.config import load_settings

    return replace(load_settings(env, config), local_root=root)


def training_files(env: str | None, config: str | None, root: Path) -> list[str]:
    """Paths of the Parquet files of the training set's current Delta version under ``root``."""
    from {{ cookiecutter.package_name }}.runtime.context import Context

    ctx = Context(_settings(env, config, root))
    frame = ctx.tables.read(ctx.settings.table("training_set"))
    return [f.removeprefix("file:") for f in frame.inputFiles()]


def bare_fit(env: str | None, config: str | None, root: Path, files: list[str]) -> dict:
    """Read ``files`` with pandas, keep the train split, fit the project's model; seconds.

    Returns rows (train rows fit), load, fit and total (seconds).
    """
    import pandas as pd

    from {{ cookiecutter.package_name }}.modeling import build_pipeline

    settings = _settings(env, config, root)
    contract = settings.contract
    columns, label = contract.feature_columns, contract.label
    started = time.perf_counter()
    frame = pd.concat(
        [pd.read_parquet(f, columns=[*columns, label, "split"]) for f in files],
        ignore_index=True,
    )
    train = frame[frame["split"] == "train"]
    loaded = time.perf_counter()
    build_pipeline(contract, dict(settings.training)).fit(train[columns], train[label])
    done = time.perf_counter()
    return {
        "rows": len(train),
        "load": round(loaded - started, 2),
        "fit": round(done - loaded, 2),
        "total": round(done - started, 2),
    }


def _options(args: argparse.Namespace) -> list[str]:
    """``--env`` and ``--config`` as given, for the child processes."""
    return [
        *(["--env", args.env] if args.env else []),
        *(["--config", args.config] if args.config else []),
    ]


def report(seconds: dict, wall: float, bare: dict, root: Path) -> dict:
    """The printed figures: run-all's ``seconds`` per step (with ``total``) and ``wall``
    seconds against the ``bare`` fit's (``total`` seconds, from :func:`bare_fit`).

    ``ratio`` is run-all's total over the bare total, ``wall_ratio`` the process wall
    time over it, both rounded to one decimal; the load average says how busy the
    machine was. Raises ZeroDivisionError when the bare total is 0.
    """
    return {
        "run_all": {**seconds, "wall": wall},
        "bare_fit": bare,
        "ratio": round(seconds["total"] / bare["total"], 1),
        "wall_ratio": round(wall / bare["total"], 1),
        LOAD_AVERAGE: [round(x, 2) for x in os.getloadavg()],
        "root": str(root),
    }


def main(argv: list[str] | None = None) -> int:
    """Run both measurements (or, with ``--bare-fit FILE``, only the fit) and print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, help="folder of the local state (default: temp)")
    parser.add_argument("--env", help="environment in conf/config.yml (default: local)")
    parser.add_argument("--config", help="YAML file merged over the packaged settings")
    parser.add_argument("--bare-fit", type=Path, help=argparse.SUPPRESS)  # JSON list of files
    args = parser.parse_args(argv)
    root = (args.root or Path(tempfile.mkdtemp(prefix="run-all-bench-"))).resolve()
    if args.bare_fit:
        files = json.loads(args.bare_fit.read_text())
        print(json.dumps(bare_fit(args.env, args.config, root, files)))
        return 0
    options = _options(args)
    env = {**os.environ, "MLOPS_LOCAL_ROOT": str(root)}
    summary_path = root / "summary.json"
    run_all = Path(sys.executable).with_name("run-all")
    started = time.perf_counter()
    subprocess.run(
        [str(run_all), *options, "--summary", str(summary_path)],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wall = round(time.perf_counter() - started, 2)
    seconds = json.loads(summary_path.read_text())["seconds"]
    listing = root / "training_files.json"
    listing.write_text(json.dumps(training_files(args.env, args.config, root)))
    fit = subprocess.run(
        [sys.executable, __file__, *options, "--root", str(root), "--bare-fit", str(listing)],
        check=True,
        capture_output=True,
        text=True,
    )
    bare = json.loads(fit.stdout.strip().splitlines()[-1])
    print(json.dumps(report(seconds, wall, bare, root), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
