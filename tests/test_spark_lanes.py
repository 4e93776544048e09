"""The Spark tier's two lanes (tests/spark_lanes.py): every Spark-tier test has one, and
under ``-n 2 --dist loadscope`` each lane runs on one worker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO
from spark_lanes import LANES, in_entry, lane

TESTS = Path(__file__).resolve().parent


def _spark_tier_ids() -> list[str]:
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    result = subprocess.run(
        [*command, "-m", "spark", "tests"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return [line for line in result.stdout.splitlines() if "::" in line]


def test_every_spark_tier_test_has_a_lane_and_every_lane_entry_is_a_test():
    ids = _spark_tier_ids()
    assert len(ids) >= 5, ids
    assert [i for i in ids if lane(i) is None] == []
    for name, entries in LANES.items():
        for entry in entries:
            assert [i for i in ids if in_entry(i, entry) and lane(i) == name], entry


def test_each_lane_runs_on_one_worker(tmp_path):
    """A copy of the lanes' test files under a conftest that imports the hook as
    tests/conftest.py does, each test writing the worker that ran it: the two lanes run on
    two workers, one each (plain loadscope would run the three tests of
    test_spark_tier.py, from both lanes, on one worker). pytest runs from the copy's
    tests/ folder, where node ids do not start with ``tests/``."""
    tests = tmp_path / "tests"
    tests.mkdir()
    hook = next(
        line
        for line in (TESTS / "conftest.py").read_text(encoding="utf-8").splitlines()
        if line.startswith("from spark_lanes import")
    )
    (tests / "conftest.py").write_text(hook + "\n", encoding="utf-8")
    record = (
        "import os, pathlib\n\n\ndef _ran(name):\n"
        "    out = pathlib.Path(os.environ['LANE_RECORD']) / name\n"
        "    out.write_text(os.environ['PYTEST_XDIST_WORKER'])\n"
    )
    files: dict[str, list[str]] = {}
    for entries in LANES.values():
        for entry in entries:
            path, _, name = entry.partition("::")
            files.setdefault(path, []).extend([name] if name else ["test_one", "test_two"])
    for path, names in files.items():
        body = "".join(f"\n\ndef {n}():\n    _ran('{Path(path).stem}-{n}')\n" for n in names)
        (tests / path).write_text(record + body, encoding="utf-8")
    out = tmp_path / "ran"
    out.mkdir()
    env = {**os.environ, "PYTHONPATH": str(TESTS), "LANE_RECORD": str(out)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    result = subprocess.run(
        [*command, "-n", "2", "--dist", "loadscope"],
        cwd=tests,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    workers: dict[str, set[str]] = {}
    for name, entries in LANES.items():
        for entry in entries:
            path, _, test = entry.partition("::")
            ran = [f for f in out.iterdir() if f.name.startswith(f"{Path(path).stem}-{test}")]
            assert ran, entry
            workers.setdefault(name, set()).update(f.read_text() for f in ran)
    assert all(len(w) == 1 for w in workers.values()), {k: sorted(v) for k, v in workers.items()}
    assert workers["spark-lane-1"] != workers["spark-lane-2"]


def test_a_run_without_xdist_does_not_know_the_hook_and_passes(tmp_path):
    """`-p no:xdist` (to debug with pdb): the conftest's hook is optional, the run passes."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]
        + ["tests/test_spark_lanes.py", "-k", "has_a_lane"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
