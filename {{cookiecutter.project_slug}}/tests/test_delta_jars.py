"""The record of the Delta Lake jars a local start resolved (runtime/delta_jars.py), on
the settings runtime/spark.py starts local Spark with; no Spark starts here
(tests/test_spark_remote.py checks how get_spark uses the record)."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

import pytest

from {{ cookiecutter.package_name }}.runtime import delta_jars
from {{ cookiecutter.package_name }}.runtime.delta_jars import (
    forget_jars,
    record_jars,
    recorded_jars,
    with_recorded_jars,
)
from {{ cookiecutter.package_name }}.runtime.spark import local_conf

from .conftest import local_settings


def start_conf(tmp_path: Path, **changes: str) -> dict[str, str]:
    """The settings of a local start (``local_conf``) with Ivy's folder, where records
    go, at ``tmp_path / "ivy home"`` (a space in it, as in some home folders), and
    ``changes`` over them."""
    conf = local_conf(local_settings(tmp_path / "state"))
    return {**conf, "spark.jars.ivy": str(tmp_path / "ivy home"), **changes}


def jar_files(tmp_path: Path, *names: str) -> list[str]:
    """Files named ``names`` in ``tmp_path / "ivy home" / "jars"``, as Spark lists them in
    ``spark.jars``: ``file:`` URLs with one slash and a percent-encoded path."""
    folder = tmp_path / "ivy home" / "jars"
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"PK")
    return [f"file:{quote(str(folder / name))}" for name in names]


DELTA = ("io.delta_delta-spark_4.1_2.13-4.2.0.jar", "io.delta_delta-storage-4.2.0.jar")


def test_a_start_resolves_until_one_recorded_its_jars_then_names_them(tmp_path):
    conf = start_conf(tmp_path)
    assert with_recorded_jars(conf) == conf  # nothing recorded yet: Ivy resolves
    jars = jar_files(tmp_path, *DELTA)
    assert "%20" in jars[0]
    path = record_jars(conf, ",".join(jars))
    assert path.parent == tmp_path / "ivy home" / "resolved"
    assert recorded_jars(conf) == jars
    start = with_recorded_jars(conf)
    assert start["spark.jars"] == ",".join(jars)
    others = {k: v for k, v in conf.items() if k != "spark.jars.packages"}
    assert {k: v for k, v in start.items() if k != "spark.jars"} == others
    assert "spark.jars.packages" not in start and "spark.jars.packages" in conf
    forget_jars(conf)
    assert with_recorded_jars(conf) == conf and list(path.parent.iterdir()) == []


def test_a_missing_jar_or_another_jar_setting_or_ivy_settings_text_resolves_again(tmp_path):
    settings_file = tmp_path / "ivysettings.xml"
    shipped = Path(start_conf(tmp_path)["spark.jars.ivySettings"]).read_text(encoding="utf-8")
    settings_file.write_text(shipped, encoding="utf-8")
    conf = start_conf(tmp_path, **{"spark.jars.ivySettings": str(settings_file)})
    jars = jar_files(tmp_path, *DELTA)
    record_jars(conf, ",".join(jars))
    assert with_recorded_jars(conf)["spark.jars"] == ",".join(jars)
    for changed in (
        {**conf, "spark.jars.packages": "io.delta:delta-spark_4.1_2.13:9.9.9"},
        {**conf, "spark.jars.repositories": "https://mirror.example/maven2"},
    ):
        assert with_recorded_jars(changed) == changed
    settings_file.write_text(shipped.replace("central", "mirror"), encoding="utf-8")
    assert with_recorded_jars(conf) == conf  # the same path, other settings
    settings_file.write_text(shipped, encoding="utf-8")
    assert with_recorded_jars(conf)["spark.jars"] == ",".join(jars)
    (tmp_path / "ivy home" / "jars" / DELTA[1]).unlink()
    assert with_recorded_jars(conf) == conf


def test_a_remote_jar_an_empty_record_or_a_failed_write_records_nothing_usable(
    tmp_path, monkeypatch
):
    conf = start_conf(tmp_path)
    assert record_jars(conf, "") is None
    record_jars(conf, ",".join([*jar_files(tmp_path, *DELTA), "https://example.com/x.jar"]))
    assert with_recorded_jars(conf) == conf  # a file that cannot be checked
    record_jars(conf, "\n")
    assert recorded_jars(conf) is None
    resolved = tmp_path / "ivy home" / "resolved"
    before = sorted(resolved.iterdir())

    def refused(source, target):
        raise PermissionError(target)

    monkeypatch.setattr(delta_jars.os, "replace", refused)
    assert record_jars(conf, ",".join(jar_files(tmp_path, *DELTA))) is None
    assert sorted(resolved.iterdir()) == before  # no temporary file left beside it
    monkeypatch.setattr(delta_jars.os, "replace", os.replace)
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")
    blocked = {**conf, "spark.jars.ivy": str(tmp_path / "a-file")}
    assert record_jars(blocked, ",".join(jar_files(tmp_path, *DELTA))) is None


@pytest.mark.parametrize("settings_file", ["missing.xml", None])
def test_an_unreadable_or_unset_ivy_settings_file_still_names_a_record(tmp_path, settings_file):
    conf = start_conf(tmp_path)
    if settings_file:
        conf["spark.jars.ivySettings"] = str(tmp_path / settings_file)
    else:
        del conf["spark.jars.ivySettings"]
    jars = jar_files(tmp_path, *DELTA)
    assert record_jars(conf, ",".join(jars)) is not None
    assert recorded_jars(conf) == jars
