"""The Spark tier's split over its two workers (tests/spark_workers.py), on sample test files
named like the real ones: each group runs whole on one worker, and a Spark test without a
group, or a group entry naming no test, stops the run before any test runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from spark_workers import SPARK_GROUPS

TESTS = Path(__file__).resolve().parent
INI = "[pytest]\nmarkers =\n    spark: needs a JVM\n"
# A sample test records the worker that ran it in a file named after the test.
BODY = (
    "\n\n@pytest.mark.spark\ndef {name}():\n"
    "    Path(os.environ['WORKERS'], '{name}').write_text(os.environ['PYTEST_XDIST_WORKER'])\n"
)


def _sample_name(file: str, name: str) -> str:
    """The sample test of the SPARK_GROUPS entry (file, name): ``name``, or for "*" a test
    named after the file."""
    return f"test_all_of_{file.removesuffix('.py')}" if name == "*" else name


def _samples(folder: Path, skip: tuple[str, str] | None = None) -> None:
    """One sample file per file of SPARK_GROUPS with a test per entry, leaving out the
    entry ``skip``."""
    files: dict[str, list[str]] = {}
    for file, name in SPARK_GROUPS:
        if (file, name) != skip:
            files.setdefault(file, []).append(_sample_name(file, name))
    for file, names in files.items():
        text = "import os\nfrom pathlib import Path\n\nimport pytest\n"
        text += "".join(BODY.format(name=name) for name in names)
        (folder / file).write_text(text, encoding="utf-8")
    (folder / "pytest.ini").write_text(INI, encoding="utf-8")


def _pytest(folder: Path, *options: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(TESTS), "WORKERS": str(folder / "workers")}
    (folder / "workers").mkdir(exist_ok=True)
    plugins = ["-p", "spark_workers", "-p", "no:cacheprovider"]
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *plugins, *options, "-m", "spark", str(folder)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_each_group_runs_whole_on_one_worker_and_the_two_groups_on_two(tmp_path):
    _samples(tmp_path)
    result = _pytest(tmp_path, "-n", "2", "--dist", "loadgroup")
    assert result.returncode == 0, result.stdout[-2000:]
    ran = {p.name: p.read_text() for p in (tmp_path / "workers").iterdir()}
    by_group: dict[str, set[str]] = {}
    for (file, name), group in SPARK_GROUPS.items():
        by_group.setdefault(group, set()).add(ran[_sample_name(file, name)])
    assert sorted(by_group) == ["gitlab_and_rag", "tabular"]
    assert [len(workers) for workers in by_group.values()] == [1, 1]
    assert by_group["gitlab_and_rag"] != by_group["tabular"]


def test_a_spark_test_without_a_group_stops_the_run(tmp_path):
    _samples(tmp_path)
    (tmp_path / "test_new.py").write_text(
        "import pytest\n\n\n@pytest.mark.spark\ndef test_new_pipeline():\n    pass\n",
        encoding="utf-8",
    )
    result = _pytest(tmp_path)
    assert result.returncode == 4, result.stdout[-2000:]
    assert (
        "Spark tests without a worker group in tests/spark_workers.py: "
        "['test_new.py::test_new_pipeline']" in result.stderr
    )
    assert not list((tmp_path / "workers").iterdir())  # no test ran


def test_an_entry_naming_no_test_stops_the_run(tmp_path):
    entry = ("test_spark_tier.py", "test_rag_project_passes_its_own_tests")
    assert entry in SPARK_GROUPS
    _samples(tmp_path, skip=entry)
    result = _pytest(tmp_path)
    assert result.returncode == 4, result.stdout[-2000:]
    assert re.search(
        r"tests/spark_workers.py names no collected test: "
        r"\[\('test_spark_tier.py', 'test_rag_project_passes_its_own_tests'\)\]",
        result.stderr,
    )
    assert not list((tmp_path / "workers").iterdir())
