"""The Spark tier's split over its two workers (tests/spark_workers.py): every Spark test of
this repo has a group and every entry names one; on sample test files named like the real
ones, each group runs whole on one worker."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import REPO
from spark_workers import SPARK_GROUPS, group_of

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


def _samples(folder: Path) -> None:
    """One sample file per file of SPARK_GROUPS with a test per entry."""
    files: dict[str, list[str]] = {}
    for file, name in SPARK_GROUPS:
        files.setdefault(file, []).append(_sample_name(file, name))
    for file, names in files.items():
        text = "import os\nfrom pathlib import Path\n\nimport pytest\n"
        text += "".join(BODY.format(name=name) for name in names)
        (folder / file).write_text(text, encoding="utf-8")
    (folder / "pytest.ini").write_text(INI, encoding="utf-8")


def _pytest(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """pytest ``args`` run in ``cwd`` with tests/ on the path and ``env`` set, without the
    caller's PYTEST_ADDOPTS."""
    env = {**{k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}, **env}
    env["PYTHONPATH"] = str(TESTS)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_each_group_runs_whole_on_one_worker_and_the_two_groups_on_two(tmp_path):
    _samples(tmp_path)
    (tmp_path / "workers").mkdir()
    options = ["-p", "spark_workers", "-n", "2", "--dist", "loadgroup", "-m", "spark"]
    result = _pytest(tmp_path, *options, str(tmp_path), WORKERS=str(tmp_path / "workers"))
    assert result.returncode == 0, result.stdout[-2000:]
    ran = {p.name: p.read_text() for p in (tmp_path / "workers").iterdir()}
    by_group: dict[str, set[str]] = {}
    for (file, name), group in SPARK_GROUPS.items():
        by_group.setdefault(group, set()).add(ran[_sample_name(file, name)])
    assert sorted(by_group) == ["gitlab_and_rag", "tabular"]
    assert [len(workers) for workers in by_group.values()] == [1, 1]
    assert by_group["gitlab_and_rag"] != by_group["tabular"]


def test_every_spark_test_has_a_group_and_every_entry_names_a_test():
    listed = _pytest(REPO, "--collect-only", "-m", "spark", "tests")
    assert listed.returncode == 0, listed.stdout[-2000:]
    tests = set()
    for line in listed.stdout.splitlines():
        if "::" in line:
            path, name = line.split("::", 1)
            tests.add((Path(path).name, re.sub(r"\[.*\]$", "", name)))
    assert len(tests) >= 7, listed.stdout[-2000:]
    assert [test for test in sorted(tests) if group_of(*test) is None] == []
    named = {(file, name) for file, name in tests} | {(file, "*") for file, _ in tests}
    assert sorted(set(SPARK_GROUPS) - named) == []
