"""Start-up problems of the shared runtime end in one clear line (both use cases): missing
or old Java, and the JVM's stdout, which goes to stderr; a JVM error's root cause line."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import pytest

from {{ cookiecutter.package_name }}.runtime.errors import root_cause
from {{ cookiecutter.package_name }}.runtime.spark import (
    SparkStartError,
    jvm_stdout_to_stderr,
    require_java,
)


def _fake_java(tmp_path, banner):
    script = tmp_path / "java"
    script.write_text(f"#!/bin/sh\necho '{banner}' >&2\n")
    script.chmod(0o755)
    return str(script)


@pytest.mark.parametrize(
    ("banner", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('openjdk version "21" 2023-09-19', 21),
    ],
)
def test_supported_java_versions_pass(tmp_path, banner, major):
    assert require_java(_fake_java(tmp_path, banner)) == major


@pytest.mark.parametrize(
    ("banner", "message"),
    [
        (
            'openjdk version "11.0.20" 2023-07-18',
            "Java 11 found: local Spark needs Java 17",
        ),
        ('java version "1.8.0_292"', "Java 8 found: local Spark needs Java 17 or newer"),
    ],
)
def test_old_java_is_refused(tmp_path, banner, message):
    with pytest.raises(SparkStartError, match=message):
        require_java(_fake_java(tmp_path, banner))


def test_missing_java_is_refused(tmp_path):
    with pytest.raises(SparkStartError, match="Java not found: local Spark needs Java 17"):
        require_java(str(tmp_path / "no-java"))


def test_a_process_started_in_the_block_writes_its_stdout_to_stderr_for_good(capfd):
    """What the Spark JVM inherits: the child starts inside the block and writes after it
    (and after the block raised); this process's own stdout is its own again by then."""
    child = "import time; time.sleep(0.5); print('from the child', flush=True)"
    with pytest.raises(RuntimeError, match="in the block"), jvm_stdout_to_stderr():
        started = subprocess.Popen([sys.executable, "-c", child])
        raise RuntimeError("in the block")
    print("from this process", flush=True)
    assert started.wait(timeout=60) == 0
    out, err = capfd.readouterr()
    assert out == "from this process\n"
    assert err == "from the child\n"


@pytest.mark.parametrize("closed", ["1", "2"])
def test_with_stdout_or_stderr_closed_the_block_runs_as_is(closed):
    code = (
        f"from {jvm_stdout_to_stderr.__module__} import jvm_stdout_to_stderr\n"
        "with jvm_stdout_to_stderr():\n"
        "    open('ran', 'w').close()\n"
    )
    with tempfile.TemporaryDirectory() as folder:
        done = subprocess.run(
            ["sh", "-c", f'exec "$0" -c "$1" {closed}>&-', sys.executable, code],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert os.path.exists(os.path.join(folder, "ran"))


def test_the_root_cause_is_the_innermost_caused_by_line():
    message = "outer\nCaused by: java.io.IOException: disk\nCaused by: java.lang.X: inner\n"
    assert root_cause(RuntimeError(message)) == "java.lang.X: inner"
    assert root_cause(RuntimeError("no cause")) is None
