"""Start-up and Spark errors end in one clear line: unresolvable Delta jars, a failing entry
point, a JVM error without its stack frames. (Java checks, the JVM's stdout and the root
cause line: tests/runtime/test_start_errors.py.)"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from {{ cookiecutter.package_name }} import cli
from {{ cookiecutter.package_name }}.runtime.errors import error_line


@pytest.mark.spark
def test_unresolvable_delta_jars_end_in_one_line(tmp_path):
    # A fresh Ivy cache and a repository nobody listens on: resolution must fail.
    ivy = tmp_path / "ivysettings.xml"
    ivy.write_text(
        '<ivysettings><settings defaultResolver="nowhere"/><resolvers>'
        '<ibiblio name="nowhere" m2compatible="true" root="http://127.0.0.1:9/"/>'
        "</resolvers></ivysettings>"
    )
    override = tmp_path / "offline.yml"
    override.write_text(
        f"spark_conf:\n  spark.jars.ivySettings: {ivy}\n  spark.jars.ivy: {tmp_path / 'ivy-home'}\n"
    )
    cache = tmp_path / "cache"  # the class-data archives' folder (runtime/class_archive.py)
    env = {**os.environ, "MLOPS_LOCAL_ROOT": str(tmp_path / "state"), "XDG_CACHE_HOME": str(cache)}
    env.pop("MLOPS_SPARK_CLASS_ARCHIVE", None)
    code = (
        f"import sys; from {cli.__name__} import ingest; "
        "sys.exit(ingest(['--config', sys.argv[1]]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(override)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: Spark did not start"), last
    assert "could not be resolved from Maven Central" in last
    # The JVM's own output (Ivy names the settings file it loads) goes to stderr:
    # stdout is left to what the command prints, here nothing.
    assert f":: loading settings :: file = {ivy}" in result.stderr
    assert result.stdout == ""
    # The failed JVM's archive, which would hold only the classes of its failure, is
    # removed with its log: the next start asks for a dump again.
    assert sorted(p.name for p in (cache / "spark-class-archives").iterdir()) == []


def test_a_failing_entry_point_run_as_a_program_raises_its_exit_status(monkeypatch, capsys):
    # A Databricks python_wheel_task calls the entry point with no arguments (it reads
    # sys.argv) and may ignore a returned value: a failure must raise SystemExit.
    from {{ cookiecutter.package_name }} import cli

    monkeypatch.setattr(sys, "argv", ["ingest", "--env", "no_such_env"])
    with pytest.raises(SystemExit) as exited:
        cli.ingest()
    assert exited.value.code == 1
    line = capsys.readouterr().err.strip()
    assert line.startswith("error: ") and "no_such_env" in line and "\n" not in line
    # Called as a function with an argument list, the same failure is returned.
    assert cli.ingest(["--env", "no_such_env"]) == 1


def _failed_delta_write(spark, tmp_path) -> Exception:
    """The Py4J error of a Delta write under a regular file (its log folder cannot be made)."""
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(Exception) as caught:
        spark.range(3).write.format("delta").save(str(tmp_path / "file" / "table"))
    return caught.value


def test_a_jvm_error_is_its_exception_line_without_the_py4j_preface_or_stack_frames(
    spark, tmp_path
):
    err = _failed_delta_write(spark, tmp_path)
    assert str(err).startswith("An error occurred while calling")  # the raw Py4J message
    assert "\tat org.apache.spark" in str(err)
    line = error_line(err)
    assert line.startswith("org.apache.spark.sql.delta.DeltaIOException: [")
    assert line.endswith(f"{tmp_path / 'file' / 'table' / '_delta_log'}")
    assert "\n" not in line
    assert error_line(err, limit=20) == "org.apache.spark...."


def test_a_line_starting_with_the_word_at_is_kept_and_stack_frames_are_not(spark, tmp_path):
    err = _failed_delta_write(spark, tmp_path)
    frames = [line for line in str(err).splitlines() if line.strip().startswith("at ")]
    assert frames  # the Delta error's own stack frames
    module_frame = "\tat com.example@1.2/com.example.Reader.read(Reader.java:7)"
    omitted = "\t... 25 more"
    message = "\n".join([*frames, module_frame, omitted, "at least one column is void", *frames])
    assert error_line(RuntimeError(message)) == "at least one column is void"
    assert error_line(RuntimeError("")) == "RuntimeError"
