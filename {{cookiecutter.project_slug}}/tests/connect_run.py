"""The ``run-all`` console script over a local Spark Connect session, for the integration
tests of every use case (the API of Databricks serverless compute)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from {{ cookiecutter.package_name }}.runtime.spark import REMOTE_VAR

from .json_checks import strict_json


def run_all_over_connect(config: Path, root: Path) -> tuple[subprocess.CompletedProcess, dict]:
    """(finished process, summary) of the installed ``run-all --config <config>`` with
    ``MLOPS_SPARK_REMOTE=local[2]`` (a local Connect server in that process) and its state
    under ``root`` (``MLOPS_LOCAL_ROOT``); the summary is the JSON it writes with
    ``--summary``, read as strict JSON (:func:`.json_checks.strict_json`). Fails the test,
    with the end of stderr, unless it exits 0."""
    summary_path = root / "summary.json"
    env = {**os.environ, "MLOPS_LOCAL_ROOT": str(root / "state"), REMOTE_VAR: "local[2]"}
    run_all = Path(sys.executable).with_name("run-all")
    done = subprocess.run(
        [str(run_all), "--config", str(config), "--summary", str(summary_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done, strict_json(summary_path.read_text(encoding="utf-8"))
