"""The rendered package collects Spark data to pandas only through ``runtime/frames.py``.

Its ``to_pandas`` empties the pandas frame's ``attrs``, where Spark Connect (Databricks
serverless) puts the query's plan metrics, which pandas cannot write to Parquet; a bare
``DataFrame.toPandas()`` in a step runs on classic Spark and fails on serverless.
"""

from __future__ import annotations

from conftest import TEMPLATE_DIR

PACKAGE = TEMPLATE_DIR / "src" / "{{cookiecutter.package_name}}"
HELPER = PACKAGE / "runtime" / "frames.py"


def test_the_package_calls_to_pandas_of_spark_only_through_runtime_frames():
    assert "def to_pandas(" in HELPER.read_text()
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 50  # the package is found (the folder moved otherwise)
    calls = [
        f"{path.relative_to(PACKAGE).as_posix()}:{number}"
        for path in files
        if path != HELPER
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if ".toPandas(" in line
    ]
    assert calls == []
