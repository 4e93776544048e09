"""The console scripts start fast: ``--help`` loads neither Spark nor MLflow nor
scikit-learn (each subprocess test, and each ``<script> --help`` of a user, pays what
the entry point imports). They are loaded when a step runs. A known error is printed as
one line, with the notes it carries after it."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tomllib
from pathlib import Path

from {{ cookiecutter.package_name }}.runtime.entry_status import run_entry

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
# Top-level packages an entry point may load only once a step runs.
HEAVY = {"delta", "mlflow", "pandas", "pyspark", "sklearn"}
# Run in a fresh interpreter: call every ``module:function`` given with ``--help``, then
# print the names of the modules loaded, as JSON, on the last line.
CHILD = """
import importlib, json, sys
for target in sys.argv[1:]:
    module, function = target.split(":")
    try:
        getattr(importlib.import_module(module), function)(["--help"])
    except SystemExit as done:
        assert done.code == 0, target
print(json.dumps(sorted(sys.modules)))
"""


def test_help_of_every_console_script_loads_no_spark_mlflow_or_scikit_learn():
    scripts = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["scripts"]
    targets = sorted(scripts.values())
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *targets], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("usage: ") == len(targets)
    loaded = {name.split(".")[0] for name in json.loads(done.stdout.splitlines()[-1])}
    assert loaded & HEAVY == set()


def test_a_known_error_is_one_line_then_one_indented_line_per_note(capsys):
    def body(args):
        error = ValueError("orders refused")
        error.add_note("prices raised too: ValueError: prices refused")
        error.add_note("stores raised too: ValueError: stores refused")
        raise error

    assert run_entry(body, argparse.ArgumentParser(), [], (ValueError,)) == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: orders refused",
        "  prices raised too: ValueError: prices refused",
        "  stores raised too: ValueError: stores refused",
    ]
