"""The scripts under benchmarks/: each imports and parses its options, and the parts that
compute figures from given inputs (the bare fit, the ratio, Delta commit counts, profile
sums, the profile's Spark jobs) give the right numbers. No pipeline runs here: the scripts
run run-all themselves."""

from __future__ import annotations

import cProfile
import importlib.util
import json
import pstats
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from .conftest import CONTRACT, LABEL

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(path.stem for path in BENCHMARKS.glob("*.py"))


def script(name: str):
    """The module of ``benchmarks/<name>.py``, imported from its file."""
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", SCRIPTS)
def test_every_benchmark_imports_and_describes_its_options(name, capsys):
    module = script(name)
    with pytest.raises(SystemExit) as exit_:
        module.main(["--help"])
    assert exit_.value.code == 0
    usage = " ".join(capsys.readouterr().out.split())
    assert usage.startswith("usage: ")
    assert " ".join(module.__doc__.splitlines()[0].split()) in usage
    assert "--root ROOT" in usage
    with pytest.raises(SystemExit) as exit_:
        module.main(["--no-such-option"])
    assert exit_.value.code == 2  # argparse's usage error


def model_input_files(folder: Path, seed: int = 0) -> tuple[list[str], int]:
    """Two Parquet files of model inputs, label and split, as run-all's training set holds
    them; returns (paths, number of rows of split ``train``)."""
    rng = np.random.default_rng(seed)
    paths, train_rows = [], 0
    for part, rows in enumerate((70, 50)):
        frame = pd.DataFrame(
            {c: rng.choice(["EWR", "JFK", "LGA"], rows) for c in CONTRACT.categorical}
        )
        for column in CONTRACT.numeric:
            frame[column] = rng.normal(10, 3, rows)
        label = rng.integers(0, 2, rows) if CONTRACT.is_classification else rng.normal(5, 5, rows)
        frame[LABEL] = label
        frame["split"] = np.where(np.arange(rows) % 5 == 0, "validation", "train")
        train_rows += int((frame["split"] == "train").sum())
        paths.append(str(folder / f"part-{part}.parquet"))
        frame.to_parquet(paths[-1])
    return paths, train_rows


def test_the_bare_fit_reads_the_given_files_and_fits_the_train_split_only(tmp_path, capsys):
    bench = script("run_all_vs_bare_fit")
    files, train_rows = model_input_files(tmp_path)
    assert train_rows == 56 + 40

    config = tmp_path / "small.yml"
    config.write_text("training:\n  max_iter: 5\n")  # the settings' training parameters
    figures = bench.bare_fit(None, str(config), tmp_path, files)
    assert figures["rows"] == train_rows
    assert figures["load"] >= 0 and figures["fit"] > 0
    assert figures["total"] == pytest.approx(figures["load"] + figures["fit"], abs=0.011)

    # The child process's path (``--bare-fit FILE``), run in this process: one JSON line.
    listing = tmp_path / "training_files.json"
    listing.write_text(json.dumps(files))
    options = ["--config", str(config), "--root", str(tmp_path), "--bare-fit", str(listing)]
    assert bench.main(options) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == train_rows


def test_the_ratio_is_run_all_over_the_bare_fit(tmp_path):
    bench = script("run_all_vs_bare_fit")
    seconds = {"ingest": 40.0, "train": 45.5, "total": 120.0}
    bare = {"rows": 250_000, "load": 1.5, "fit": 6.5, "total": 8.0}
    report = bench.report(seconds, 135.0, bare, tmp_path)
    assert report["run_all"] == {"ingest": 40.0, "train": 45.5, "total": 120.0, "wall": 135.0}
    assert (report["ratio"], report["wall_ratio"]) == (15.0, 16.9)
    assert report["bare_fit"] == bare and report["root"] == str(tmp_path)
    assert len(report[bench.LOAD_AVERAGE]) == 3  # the 1, 5 and 15 minute load averages
    with pytest.raises(ZeroDivisionError):
        bench.report(seconds, 135.0, {**bare, "total": 0}, tmp_path)


def test_delta_commits_are_counted_per_table_folder(tmp_path):
    profile = script("profile_steps")
    for table, commits in (("local/flights/bronze", 3), ("local/flights/gold", 1)):
        log = tmp_path / "warehouse" / table / "_delta_log"
        log.mkdir(parents=True)
        for version in range(commits):
            (log / f"{version:020d}.json").write_text("{}")
            (log / f"{version:020d}.crc").write_text("{}")  # not a commit
    assert profile.delta_versions(tmp_path) == {
        "warehouse/local/flights/bronze": 3,
        "warehouse/local/flights/gold": 1,
    }
    assert profile.delta_versions(tmp_path / "warehouse" / "local" / "flights" / "gold") == {".": 1}


def _inner():
    time.sleep(0.2)


def _outer():
    _inner()


def test_profile_seconds_count_only_the_outermost_matching_calls():
    profile = script("profile_steps")
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.runcall(_outer)
    wall = time.perf_counter() - started
    stats = pstats.Stats(profiler)
    here = __file__
    seconds = profile._seconds_in(stats, lambda file: file == here)
    # _outer's time (at least the 0.2 s sleep, at most the call's wall time), not
    # _outer's plus _inner's (about twice the wall time), however loaded the machine.
    assert 0.2 <= seconds <= wall + 0.05
    assert profile._seconds_in(stats, lambda file: file == "no such file") == 0


def test_covered_seconds_count_overlapping_spans_once():
    profile = script("profile_steps")
    assert profile.covered_seconds([]) == 0
    assert profile.covered_seconds([(10.0, 12.5)]) == 2.5
    # Side by side (overlapping), one inside another, touching, and apart, in any order.
    spans = [(20.0, 21.0), (10.0, 13.0), (11.0, 14.0), (11.5, 12.0), (14.0, 15.0)]
    assert profile.covered_seconds(spans) == pytest.approx(5.0 + 1.0)


def test_the_profile_counts_every_job_started_during_a_step_in_any_thread_or_group(spark):
    """A step's jobs: its own thread's and those of threads in other job groups (a
    streaming query's micro-batches run in the query's own group); not the jobs before."""
    profile = script("profile_steps")
    context = spark.sparkContext
    context.parallelize([1]).count()  # a job before the step
    newest = profile.newest_job(context)
    assert newest >= 0

    def elsewhere():
        context.setJobGroup("another-group", "as a streaming query's thread")
        context.parallelize(range(10), 2).count()

    began = time.time()
    context.parallelize(range(5)).count()  # an RDD count is one job
    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    ended = time.time()
    jobs = profile.jobs_after(context, newest)
    assert len(jobs) == 2
    assert profile.newest_job(context) == newest + 2
    for start, end in jobs:
        assert end is not None  # both ended
        assert began - 1 <= start <= end <= ended + 1  # seconds since the epoch, the JVM's clock
    assert 0 < profile.covered_seconds(jobs) <= ended - began + 1
    assert profile.jobs_after(context, profile.newest_job(context)) == []
