"""The Spark tier's two lanes (tests/spark_lanes.py): every Spark-tier test has one, and
under ``-n 2 --dist loadscope`` each lane runs on one worker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO
from spark_lanes import LANES, lane

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
    stale = [
        p for ps in LANES.values() for p in ps if not any(lane(i) and i.startswith(p) for i in ids)
    ]
    assert stale == []


def test_each_lane_runs_on_one_worker(tmp_path):
    """A copy of the lanes' test files, each test writing the worker that ran it: the two
    lanes run on two workers, one each (without the plugin, loadscope would run the three
    tests of test_spark_tier.py, from both lanes, on one worker)."""
    tests = tmp_path / "tests"
    tests.mkdir()
    record = (
        "import os, pathlib\n\n\ndef _ran(name):\n"
        "    out = pathlib.Path(os.environ['LANE_RECORD']) / name\n"
        "    out.write_text(os.environ['PYTEST_XDIST_WORKER'])\n"
    )
    files: dict[str, list[str]] = {}
    for prefixes in LANES.values():
        for prefix in prefixes:
            path, _, name = prefix.partition("::")
            files.setdefault(path, []).extend([name] if name else ["test_one", "test_two"])
    for path, names in files.items():
        body = "".join(f"\n\ndef {n}():\n    _ran('{Path(path).stem}-{n}')\n" for n in names)
        (tmp_path / path).write_text(record + body, encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    out = tmp_path / "ran"
    out.mkdir()
    env = {**os.environ, "PYTHONPATH": str(TESTS), "LANE_RECORD": str(out)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "spark_lanes"]
    result = subprocess.run(
        [*command, "-n", "2", "--dist", "loadscope", "tests"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    workers: dict[str, set[str]] = {}
    for name, prefixes in LANES.items():
        for prefix in prefixes:
            path, _, test = prefix.partition("::")
            stem = Path(path).stem
            ran = [f for f in out.iterdir() if f.name.startswith(f"{stem}-{test}")]
            assert ran, prefix
            workers.setdefault(name, set()).update(f.read_text() for f in ran)
    assert all(len(w) == 1 for w in workers.values()), json.dumps(
        {k: sorted(v) for k, v in workers.items()}
    )
    assert workers["spark-lane-1"] != workers["spark-lane-2"]
