"""The record of the Delta Lake jars a local start resolved (runtime/delta_jars.py), on
the settings runtime/spark.py starts local Spark with; no Spark starts here."""

from __future__ import annotations

from pathlib import Path

from {{ cookiecutter.package_name }}.runtime.delta_jars import (
    record_jars,
    record_path,
    recorded_jars,
    with_recorded_jars,
)
from {{ cookiecutter.package_name }}.runtime.spark import local_conf

from .conftest import local_settings


def start_conf(tmp_path: Path, **changes: str) -> dict[str, str]:
    """The settings of a local start (``local_conf``) with Ivy's folder, where records
    go, at ``tmp_path / "ivy"``, and ``changes`` over them."""
    conf = local_conf(local_settings(tmp_path / "state"))
    return {**conf, "spark.jars.ivy": str(tmp_path / "ivy"), **changes}


def jar_files(tmp_path: Path, *names: str) -> list[str]:
    """Files named ``names`` in ``tmp_path / "ivy" / "jars"``, as Spark lists them
    (``file://`` URLs)."""
    folder = tmp_path / "ivy" / "jars"
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"PK")
    return [(folder / name).as_uri() for name in names]


DELTA = ("io.delta_delta-spark_4.1_2.13-4.2.0.jar", "io.delta_delta-storage-4.2.0.jar")


def test_a_start_resolves_until_one_recorded_its_jars_then_names_them(tmp_path):
    conf = start_conf(tmp_path)
    assert with_recorded_jars(conf) == conf  # nothing recorded yet: Ivy resolves
    jars = jar_files(tmp_path, *DELTA)
    path = record_jars(conf, ",".join(jars))
    assert path == record_path(conf) and path.parent == tmp_path / "ivy" / "resolved"
    assert recorded_jars(conf) == jars
    start = with_recorded_jars(conf)
    assert start["spark.jars"] == ",".join(jars)
    others = {k: v for k, v in conf.items() if k != "spark.jars.packages"}
    assert {k: v for k, v in start.items() if k != "spark.jars"} == others
    assert "spark.jars.packages" not in start and "spark.jars.packages" in conf


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
    Path(tmp_path / "ivy" / "jars" / DELTA[1]).unlink()
    assert with_recorded_jars(conf) == conf


def test_an_empty_list_an_empty_record_or_an_unwritable_folder_records_nothing(tmp_path):
    conf = start_conf(tmp_path)
    assert record_jars(conf, "") is None and not record_path(conf).exists()
    record_path(conf).parent.mkdir(parents=True)
    record_path(conf).write_text("\n", encoding="utf-8")
    assert recorded_jars(conf) is None and with_recorded_jars(conf) == conf
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")
    blocked = {**conf, "spark.jars.ivy": str(tmp_path / "a-file")}
    assert record_jars(blocked, ",".join(jar_files(tmp_path, *DELTA))) is None
    assert list(tmp_path.glob("a-file*")) == [tmp_path / "a-file"]
