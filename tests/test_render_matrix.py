"""Every combination of the template's options renders clean.

The matrix is every combination of the choice and boolean options of cookiecutter.json
(a new option joins it by being declared there). Each render must have exactly the
expected files, no Jinja left over, YAML, TOML, JSON and Python that parse, and Python
that passes ruff. Only needs cookiecutter and ruff: no JVM.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
import time
import tomllib
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath

import pytest
import yaml
from conftest import (
    BOOLEAN_OPTIONS,
    CHOICE_OPTIONS,
    CONTEXT,
    DEFAULT_ANSWERS,
    TEMPLATE_DIR,
    render,
)
from cookiecutter.environment import StrictEnvironment

MATRIX_OPTIONS = CHOICE_OPTIONS + BOOLEAN_OPTIONS
PACKAGE = DEFAULT_ANSWERS["package_name"]
MATRIX = [
    dict(zip(MATRIX_OPTIONS, values, strict=True))
    for values in itertools.product(
        *[CONTEXT[k] if k in CHOICE_OPTIONS else [True, False] for k in MATRIX_OPTIONS]
    )
]
MATRIX_IDS = [",".join(f"{k}={v}" for k, v in combo.items()) for combo in MATRIX]

# Jinja left in the output: "{{" (except GitHub's "${{"), "{%", "{#" (except shell "${#").
# Closing markers alone are no evidence: "%}" ends the f-string format "{x:.0%}".
# `${{ }}` are CI expressions and `{{tasks.x.values.y}}`-style names are Databricks
# dynamic value references: both belong in the output. Anything else is leftover Jinja.
LEFTOVER_JINJA = re.compile(
    r"(?<!\$)\{\{(?!(tasks|job|task|params|workspace|backfill)\.)|\{%|(?<!\$)\{#"
)
# A workflow expression: "${{ ... }}" of GitHub Actions, GitLab or Azure DevOps.
WORKFLOW_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")
RENDER_SECONDS: list[float] = []


def matches(relative: PurePosixPath, pattern: str) -> bool:
    """Whether ``relative`` or one of its parent folders matches the manifest glob ``pattern``."""
    wanted = PurePosixPath(pattern).parts
    parts = relative.parts
    return len(parts) >= len(wanted) and all(
        fnmatchcase(part, glob) for part, glob in zip(parts, wanted, strict=False)
    )


def expected_files(combo: dict, package: str) -> set[str]:
    """Files of the template folder, named as rendered, minus the optional ones switched off."""
    off = []
    for option, by_value in CONTEXT["_optional_files"].items():
        chosen = str(combo[option]).lower() if isinstance(combo[option], bool) else combo[option]
        off += [p for value, patterns in by_value.items() if value != chosen for p in patterns]
    files = set()
    for path in TEMPLATE_DIR.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            relative = path.relative_to(TEMPLATE_DIR).as_posix()
            relative = PurePosixPath(relative.replace("{{cookiecutter.package_name}}", package))
            if not any(matches(relative, pattern) for pattern in off):
                files.add(relative.as_posix())
    return files


def text_files(project: Path):
    """(relative path, text) of every file of ``project`` that decodes as UTF-8."""
    for path in sorted(project.rglob("*")):
        if path.is_file():
            try:
                yield path.relative_to(project).as_posix(), path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Every combination rendered once: {id: project folder}."""
    projects = {}
    for combo, combo_id in zip(MATRIX, MATRIX_IDS, strict=True):
        start = time.perf_counter()
        projects[combo_id] = render(tmp_path_factory.mktemp("combo"), **combo)
        RENDER_SECONDS.append(time.perf_counter() - start)
    return projects


def test_matrix_covers_every_option_value():
    for option in MATRIX_OPTIONS:
        values = {combo[option] for combo in MATRIX}
        assert values == (set(CONTEXT[option]) if option in CHOICE_OPTIONS else {True, False})


@pytest.mark.parametrize("combo", MATRIX, ids=MATRIX_IDS)
def test_combination_renders_clean(rendered, combo):
    project = rendered[",".join(f"{k}={v}" for k, v in combo.items())]
    present = {p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()}
    assert present == expected_files(combo, PACKAGE)

    for name, text in text_files(project):
        assert not LEFTOVER_JINJA.search(text), f"Jinja left in {name}"
        suffix = PurePosixPath(name).suffix
        if suffix in (".yml", ".yaml"):
            list(yaml.safe_load_all(text))
        elif suffix == ".toml":
            tomllib.loads(text)
        elif suffix == ".json":
            json.loads(text)
        elif suffix == ".py":
            compile(text, name, "exec")


@pytest.mark.parametrize("combo", MATRIX, ids=MATRIX_IDS)
def test_combination_passes_ruff(rendered, combo):
    project = rendered[",".join(f"{k}={v}" for k, v in combo.items())]
    for command in (["check", "--no-cache"], ["format", "--check", "--no-cache"]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "."],
            cwd=project,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("combo", MATRIX, ids=MATRIX_IDS)
def test_workflow_expressions_survive(rendered, combo):
    """Every ``${{ ... }}`` written literally in a template file is in its rendered file."""
    project = rendered[",".join(f"{k}={v}" for k, v in combo.items())]
    for path in TEMPLATE_DIR.rglob("*"):
        if not path.is_file():
            continue
        source = path.read_text(encoding="utf-8", errors="replace")
        relative = path.relative_to(TEMPLATE_DIR).as_posix()
        target = project / relative.replace("{{cookiecutter.package_name}}", PACKAGE)
        for expression in WORKFLOW_EXPRESSION.findall(source):
            if target.exists() and "{{ cookiecutter" not in expression:
                assert expression in target.read_text(encoding="utf-8"), (relative, expression)


def test_raw_block_keeps_a_workflow_expression_unchanged():
    """The way CI templates must write ``${{ }}``: inside ``{% raw %}``, next to Jinja."""
    source = (
        "env:\n"
        "  TOKEN: {% raw %}${{ secrets.DATABRICKS_TOKEN }}{% endraw %}\n"
        "  BUNDLE: {{ cookiecutter.project_slug }}\n"
        "  IF: {% raw %}${{ github.ref == 'refs/heads/main' && !cancelled() }}{% endraw %}"
    )
    context = {"cookiecutter": {"project_slug": "churn-model"}}
    text = StrictEnvironment(context=context).from_string(source).render(**context)
    assert text == (
        "env:\n"
        "  TOKEN: ${{ secrets.DATABRICKS_TOKEN }}\n"
        "  BUNDLE: churn-model\n"
        "  IF: ${{ github.ref == 'refs/heads/main' && !cancelled() }}"
    )
    assert yaml.safe_load(text)["env"]["TOKEN"] == "${{ secrets.DATABRICKS_TOKEN }}"
    assert not LEFTOVER_JINJA.search(text)


def test_render_times_are_recorded(rendered):
    """All combinations render, each in under 5 s (the fast tier has 60 s for everything)."""
    assert len(RENDER_SECONDS) == len(MATRIX)
    assert max(RENDER_SECONDS) < 5
    print(f"\n{len(MATRIX)} combinations rendered in {sum(RENDER_SECONDS):.2f} s")


def test_expected_files_follow_the_manifest():
    on = expected_files({"include_monitoring": True, "cicd_platform": "gitlab"}, "pkg")
    off = expected_files({"include_monitoring": False, "cicd_platform": "gitlab"}, "pkg")
    assert {"src/pkg/steps/monitor.py", "src/pkg/monitoring/drift.py"} <= on - off
    assert "src/pkg/steps/train.py" in on & off
    assert not any("{{" in name for name in on)
