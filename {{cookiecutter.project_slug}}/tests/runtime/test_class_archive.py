"""The local driver JVM's class-data archive: asked for once, used only when written whole."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.runtime import class_archive
from {{ cookiecutter.package_name }}.runtime.class_archive import (
    DUMP_TIMEOUT_SECONDS,
    JAVA_OPTION_VARS,
    SWITCH_VAR,
    WRITTEN,
    archive_key,
    forget,
    in_use,
    java_options,
    usable_folder,
)
from {{ cookiecutter.package_name }}.runtime.spark import (
    java_executable,
    spark_jars_folder,
    with_class_archive,
)
from {{ cookiecutter.package_name }}.runtime.spark import java_version_text as spark_java_version

CONF = {"spark.driver.defaultJavaOptions": "-XX:+UseParallelGC", "spark.driver.memory": "4g"}
NOW = time.time()  # the dump logs' times are the file system's: real ones


@pytest.fixture
def setup(tmp_path, monkeypatch):
    """(java, jars, folder): a stand-in Java executable and jar folder, an empty archive folder."""
    monkeypatch.delenv(SWITCH_VAR, raising=False)
    java = tmp_path / "jdk" / "java"
    java.parent.mkdir()
    java.write_text("java")
    jars = tmp_path / "jars"
    jars.mkdir()
    (jars / "spark-core.jar").write_bytes(b"core")
    return str(java), jars, tmp_path / "archives"


def dump_paths(options: str) -> tuple[Path, Path]:
    """The dump and log files named by :func:`java_options`' options for a dump."""
    dump = re.search(r"-XX:ArchiveClassesAtExit=(\S+)", options).group(1)
    log = re.search(r"-Xlog:cds\+dynamic=info:file=([^:\s]+)", options).group(1)
    return Path(dump), Path(log)


def test_a_first_start_asks_for_a_dump_and_another_start_meanwhile_asks_for_nothing(setup):
    java, jars, folder = setup
    options = java_options(CONF, java, jars, folder, now=NOW)
    dump, log = dump_paths(options)
    key = archive_key(CONF, java, jars)
    assert dump.parent == folder and dump.name.startswith(f"{key}.") and dump.suffix == ".jsa"
    assert dump.name != f"{key}.jsa"  # never written under the name a start maps
    assert log == dump.with_suffix(".log") and log.exists() and not dump.exists()
    assert "-Xlog:cds*=off" in options.split()  # HotSpot's archive messages stay off stdout
    assert java_options(CONF, java, jars, folder, now=NOW + 60) == ""


def test_a_dump_is_used_only_once_its_log_says_it_was_written_whole(setup):
    java, jars, folder = setup
    dump, log = dump_paths(java_options(CONF, java, jars, folder, now=NOW))
    dump.write_bytes(b"half")  # a JVM still writing, or killed while writing
    log.write_text("[0.1s][info][cds,dynamic] Archiving hidden java.lang.Object\n")
    assert java_options(CONF, java, jars, folder, now=NOW + 60) == ""
    assert dump.exists()
    with log.open("a") as out:  # the line, but a file shorter than it says (a power cut)
        out.write(f"[2.0s][info][cds,dynamic] {WRITTEN} 0x8 - 0x9 [9 bytes header, 15 bytes total]")
    assert java_options(CONF, java, jars, folder, now=NOW + 90) == ""
    dump.write_bytes(b"a whole archive")  # 15 bytes
    options = java_options(CONF, java, jars, folder, now=NOW + 120)
    archive = folder / f"{archive_key(CONF, java, jars)}.jsa"
    assert f"-XX:SharedArchiveFile={archive}" in options.split()
    assert archive.read_bytes() == b"a whole archive"
    assert sorted(p.name for p in folder.iterdir()) == [archive.name]
    assert java_options(CONF, java, jars, folder, now=NOW + 180) == options


def test_an_unfinished_dump_older_than_the_timeout_is_removed_and_a_new_one_asked_for(setup):
    java, jars, folder = setup
    dump, log = dump_paths(java_options(CONF, java, jars, folder, now=NOW))
    dump.write_bytes(b"cut off")
    os.utime(log, (NOW, NOW))
    later = NOW + DUMP_TIMEOUT_SECONDS + 1
    again, again_log = dump_paths(java_options(CONF, java, jars, folder, now=later))
    assert not dump.exists() and not log.exists()
    assert again != dump and again_log.exists()


def test_a_forgotten_dump_never_becomes_the_archive_and_a_late_one_is_removed(setup):
    """A JVM that failed to start: its dump and log are removed (runtime/spark.py calls
    forget), the next start asks for a new dump, and a dump its JVM wrote after that
    is removed once older than the timeout, unused."""
    java, jars, folder = setup
    options = java_options(CONF, java, jars, folder, now=NOW)
    dump, log = dump_paths(options)
    dump.write_bytes(b"the classes of a failed start")
    log.write_text(f"[1.0s][info][cds,dynamic] {WRITTEN} 0x8 - 0x9\n")
    forget(options)
    assert not dump.exists() and not log.exists()
    again, _ = dump_paths(java_options(CONF, java, jars, folder, now=NOW + 1))
    assert again != dump
    dump.write_bytes(b"written after forget_dump")  # the failed JVM, late
    os.utime(dump, (NOW, NOW))
    java_options(CONF, java, jars, folder, now=NOW + DUMP_TIMEOUT_SECONDS + 1)
    assert not dump.exists() and not (folder / f"{archive_key(CONF, java, jars)}.jsa").exists()
    mapped = folder / "mapped.jsa"
    mapped.write_bytes(b"an archive a failed start had mapped")
    forget(f"-Xlog:cds*=off -XX:SharedArchiveFile={mapped}")
    assert not mapped.exists()


@pytest.mark.parametrize(
    "change",
    [
        "jar grown",
        "jar added",
        "java replaced",
        "JDK modules image updated",
        "JVM library updated",
        "driver memory",
        "driver java options",
        "JAVA_TOOL_OPTIONS",
    ],
)
def test_the_archive_key_changes_with_java_the_jars_and_the_driver_settings(
    setup, monkeypatch, change
):
    java, jars, _ = setup
    monkeypatch.delenv("JAVA_TOOL_OPTIONS", raising=False)
    home = Path(java).parent.parent  # the stand-in's installation: <home>/jdk/java
    (home / "lib" / "server").mkdir(parents=True)
    (home / "lib" / "modules").write_bytes(b"modules")
    (home / "lib" / "server" / "libjvm.so").write_bytes(b"jvm")
    before = archive_key(CONF, java, jars)
    assert archive_key({**CONF, "spark.sql.shuffle.partitions": "1"}, java, jars) == before
    conf = dict(CONF)
    if change == "jar grown":
        (jars / "spark-core.jar").write_bytes(b"core, a newer build")
    elif change == "jar added":
        (jars / "delta.jar").write_bytes(b"delta")
    elif change == "java replaced":
        other = Path(java).with_name("java17")
        other.write_text("another java, longer")
        java = str(other)
    elif change == "JDK modules image updated":  # in place: bin/java unchanged
        (home / "lib" / "modules").write_bytes(b"modules of a newer update")
    elif change == "JVM library updated":
        (home / "lib" / "server" / "libjvm.so").write_bytes(b"jvm of a newer update")
    elif change == "driver memory":
        conf["spark.driver.memory"] = "8g"
    elif change == "JAVA_TOOL_OPTIONS":
        monkeypatch.setenv("JAVA_TOOL_OPTIONS", "-Xss4m")
    else:
        conf["spark.driver.extraJavaOptions"] = "-Xss4m"
    assert archive_key(conf, java, jars) != before


@pytest.mark.parametrize(
    "where", ["spark.driver.defaultJavaOptions", "spark.driver.extraJavaOptions", *JAVA_OPTION_VARS]
)
def test_the_archive_key_leaves_out_system_properties_but_no_other_java_option(
    setup, monkeypatch, where
):
    """A ``-D<name>=<value>`` the JVM's archive code does not read (the tests' session sets
    one) keeps the key; a heap size, a collector or a property it reads changes it."""
    java, jars, _ = setup
    for name in JAVA_OPTION_VARS:
        monkeypatch.delenv(name, raising=False)

    def key_with(options: str) -> str:
        if where in JAVA_OPTION_VARS:
            monkeypatch.setenv(where, options)
            return archive_key(CONF, java, jars)
        given = CONF.get(where, "")
        return archive_key({**CONF, where: f"{given} {options}".strip()}, java, jars)

    before = archive_key(CONF, java, jars)
    assert key_with("-Dmlops.tests.session=true -Dfile.encoding=UTF-8") == before
    assert key_with("-Dmlops.tests.session=true -Xmx2g") == key_with("-Xmx2g") != before
    assert key_with("-XX:+UseG1GC") != before
    assert key_with("-Djava.system.class.loader=org.example.Loader") != before


def test_the_jars_of_an_archive_are_the_installed_pyspark_s_even_with_spark_home_set(
    monkeypatch, tmp_path
):
    """SPARK_HOME names other jars, but a start with it set gets no archive (in_use): the
    jar folder an archive is keyed on is always the installed pyspark's."""
    import pyspark

    monkeypatch.setenv("SPARK_HOME", str(tmp_path))
    folder = spark_jars_folder()
    assert sorted(folder.glob(f"spark-core_*-{pyspark.__version__}.jar")), folder


HOTSPOT = (
    'openjdk version "17.0.15" 2025-04-15\n'
    "OpenJDK 64-Bit Server VM (build 17.0.15+6, mixed mode, sharing)\n"
)


@pytest.mark.parametrize(
    "case",
    [
        "switched off",
        "own archive option",
        "own share option",
        "own AOT cache",
        "openj9",
        "conf folder on the class path",
        "extra class path",
        "windows",
        "no base archive",
        "sharing off in JAVA_TOOL_OPTIONS",
        "no compressed class pointers in PYSPARK_SUBMIT_ARGS",
        "SPARK_HOME",
        "files in the conf folder",
    ],
)
def test_no_archive_is_used_when_off_or_it_could_not_be_written_or_read(
    monkeypatch, tmp_path, case
):
    for name in (
        SWITCH_VAR,
        *class_archive.CLASS_PATH_FOLDERS,
        *class_archive.JAVA_OPTION_VARS,
        "PYSPARK_SUBMIT_ARGS",
    ):
        monkeypatch.delenv(name, raising=False)
    conf_folder = tmp_path / "conf"
    conf_folder.mkdir()
    if sys.platform != "win32":
        assert in_use(CONF, HOTSPOT, conf_folder)  # an empty conf folder is no obstacle
        assert in_use(CONF, HOTSPOT, tmp_path / "absent")
    conf, version = dict(CONF), HOTSPOT
    if case == "switched off":
        monkeypatch.setenv(SWITCH_VAR, " Off ")
    elif case == "own archive option":
        conf["spark.driver.extraJavaOptions"] = "-XX:SharedArchiveFile=/opt/spark.jsa"
    elif case == "own share option":
        conf["spark.driver.defaultJavaOptions"] = "-Xshare:off"
    elif case == "own AOT cache":
        conf["spark.driver.extraJavaOptions"] = "-XX:AOTCache=/opt/app.aot"
    elif case == "openj9":
        version = 'openjdk version "17.0.9"\nEclipse OpenJ9 VM (build openj9-0.41.0)\n'
    elif case == "conf folder on the class path":
        monkeypatch.setenv("SPARK_CONF_DIR", "/etc/spark/conf")
    elif case == "extra class path":
        conf["spark.driver.extraClassPath"] = "/opt/lib"
    elif case == "windows":
        monkeypatch.setattr(sys, "platform", "win32")
    elif case == "no base archive":
        version = HOTSPOT.replace(", sharing", "")
    elif case == "sharing off in JAVA_TOOL_OPTIONS":
        monkeypatch.setenv("JAVA_TOOL_OPTIONS", "-Xshare:off")
    elif case == "no compressed class pointers in PYSPARK_SUBMIT_ARGS":
        args = '--driver-java-options "-XX:-UseCompressedClassPointers" pyspark-shell'
        monkeypatch.setenv("PYSPARK_SUBMIT_ARGS", args)
    elif case == "SPARK_HOME":
        monkeypatch.setenv("SPARK_HOME", "/opt/spark")
    else:
        (conf_folder / "log4j2.properties").write_text("rootLogger.level = warn\n")
    assert not in_use(conf, version, conf_folder)


@pytest.mark.parametrize(
    "name", ["archives of mine", "a:b", "cache%p", "quote'd", "back\\slash", "a_file/archives"]
)
def test_no_option_names_a_folder_java_or_spark_would_read_otherwise(setup, name):
    """HotSpot's -Xlog reads ':' and '%', Spark's launcher splits at spaces and drops '\\':
    the start would fail; it gets no archive instead, and nothing is created. Nor for a
    folder that cannot be made (a file in the way)."""
    java, jars, folder = setup
    assert usable_folder(folder) == folder
    (folder.parent / "a_file").write_text("a file where a folder would be")
    folder = folder.parent / name
    assert usable_folder(folder) is None
    assert java_options(CONF, java, jars, folder) == ""
    assert not folder.exists()


def test_an_archive_is_kept_while_used_and_removed_after_30_days_unused(setup):
    """The archive a start maps is kept and marked used, however old; an older key's
    archive unused for 29 days is kept, one unused for 31 days is removed."""
    java, jars, folder = setup
    folder.mkdir()
    archive = folder / f"{archive_key(CONF, java, jars)}.jsa"
    recent = folder / "0123456789abcdef01234567.jsa"  # older keys' archives
    stale = folder / "76543210fedcba9876543210.jsa"
    for path, days in ((archive, 31), (recent, 29), (stale, 31)):
        path.write_bytes(b"an archive")
        os.utime(path, (NOW - days * 86400, NOW - days * 86400))
    assert "-XX:SharedArchiveFile=" in java_options(CONF, java, jars, folder, now=NOW)
    assert archive.exists() and recent.exists() and not stale.exists()
    assert archive.stat().st_mtime == pytest.approx(NOW)


@pytest.mark.skipif(not java_executable(), reason="needs java")
def test_the_options_follow_the_default_java_options_a_start_is_given(setup, monkeypatch):
    _, _, folder = setup
    for name in class_archive.CLASS_PATH_FOLDERS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(class_archive, "default_folder", lambda: folder)
    started = with_class_archive(dict(CONF))
    given = started["spark.driver.defaultJavaOptions"]
    assert given.startswith("-XX:+UseParallelGC -Xlog:cds*=off ")
    assert "-XX:ArchiveClassesAtExit=" in given
    assert {k: v for k, v in started.items() if k != "spark.driver.defaultJavaOptions"} == {
        k: v for k, v in CONF.items() if k != "spark.driver.defaultJavaOptions"
    }
    monkeypatch.setenv(SWITCH_VAR, "off")
    assert with_class_archive(dict(CONF)) == CONF


@pytest.mark.skipif(not java_executable(), reason="needs java")
def test_the_java_on_this_machine_writes_the_archive_and_maps_it_at_the_next_start(setup):
    """HotSpot itself: the dump option writes an archive whose log holds the line the next
    start waits for, and that start maps it (``-Xshare:on`` fails when it cannot)."""
    _, jars, folder = setup
    java = java_executable()
    assert in_use({}, spark_java_version(java)), spark_java_version(java)
    first = java_options({}, java, jars, folder)
    done = subprocess.run(
        [java, *first.split(), "-version"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "[cds" not in done.stdout + done.stderr
    second = java_options({}, java, jars, folder)
    assert "-XX:SharedArchiveFile=" in second, sorted(p.name for p in folder.iterdir())
    mapped = subprocess.run(
        [java, *second.split(), "-Xshare:on", "-version"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert mapped.returncode == 0, mapped.stdout + mapped.stderr
    shutil.rmtree(folder)
