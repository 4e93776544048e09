"""Shared fixtures of the generator's tests: rendering the template, loading the hooks."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import re
import subprocess
import tempfile
import tomllib
from pathlib import Path

import pytest
from ci_skips import pytest_sessionfinish  # noqa: F401 - the hook: skips fail under CI=true
from cookiecutter.main import cookiecutter
from cookiecutter.prompt import prompt_for_config
from spark_workers import (  # noqa: F401 - the hook: each Spark test's worker
    pytest_collection_modifyitems,
)

# The variables a make that started pytest passes on (`make -j2 test`, or `MAKEFLAGS=-j2`
# in the shell): the tests run make as a user would, not as its sub-make, and every
# process they start inherits this environment. Left set, a make a test runs finds in
# MAKEFLAGS a jobserver it cannot reach and warns on stderr, and with MAKELEVEL it prefixes
# its messages with `make[N]:`; tests compare both.
MAKE_VARIABLES = ("MAKEFLAGS", "MAKELEVEL")
for _name in MAKE_VARIABLES:
    os.environ.pop(_name, None)

REPO = Path(__file__).resolve().parents[1]
TEMPLATE_DIR = REPO / "{{cookiecutter.project_slug}}"
CONTEXT = json.loads((REPO / "cookiecutter.json").read_text(encoding="utf-8"))
BOOLEAN_OPTIONS = sorted(k for k, v in CONTEXT.items() if isinstance(v, bool))
CHOICE_OPTIONS = sorted(
    k for k, v in CONTEXT.items() if isinstance(v, list) and not k.startswith("_")
)
# The answers of a --no-input render, computed the way cookiecutter computes them.
DEFAULT_ANSWERS = dict(prompt_for_config({"cookiecutter": copy.deepcopy(CONTEXT)}, no_input=True))


def answers_for(**answers) -> dict:
    """Every answer cookiecutter derives with ``answers`` given and the rest left to the
    defaults (``use_case="rag"`` gives the rag project's name, slug and package)."""
    context = {**copy.deepcopy(CONTEXT), **answers}
    return dict(prompt_for_config({"cookiecutter": context}, no_input=True))


def load_hook(name: str):
    """Import ``hooks/<name>.py`` as it is in the repo (unrendered; it is valid Python)."""
    path = REPO / "hooks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"hook_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def declared_requirements(project: Path) -> list[str]:
    """Every requirement (PEP 508 text) of the rendered project folder ``project``'s
    pyproject.toml: the runtime ones, then each extra's."""
    meta = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = list(meta["dependencies"])
    for extra in meta.get("optional-dependencies", {}).values():
        requirements += extra
    return requirements


def declared_distributions(project: Path) -> set[str]:
    """The names of :func:`declared_requirements`, PEP 503 normalized (``PyYAML`` ->
    ``pyyaml``)."""
    normalized = load_hook("pre_gen_project").normalized
    requirements = declared_requirements(project)
    return {normalized(re.match(r"[A-Za-z0-9._-]+", r).group()) for r in requirements}


def pytest_configure(config):
    """Register the markers; point cookiecutter at a user config of its own (replays in tmp)."""
    config.addinivalue_line("markers", "spark: needs a JVM (the Spark tier)")
    root = Path(tempfile.mkdtemp(prefix="cookiecutter-home-"))
    user_config = root / "config.yaml"
    user_config.write_text(
        f"replay_dir: {json.dumps(str(root / 'replay'))}\n"
        f"cookiecutters_dir: {json.dumps(str(root / 'cookiecutters'))}\n",
        encoding="utf-8",
    )
    os.environ["COOKIECUTTER_CONFIG"] = str(user_config)


def render(output_dir: Path, **answers) -> Path:
    """Render the template with ``answers`` over the defaults; returns the project folder.

    Raises what cookiecutter raises: ``FailedHookException`` when pre_gen refuses an
    answer, ``ValueError`` for a value that is not a valid choice or boolean.
    """
    return Path(
        cookiecutter(
            str(REPO),
            no_input=True,
            output_dir=str(output_dir),
            extra_context=answers,
        )
    )


def run(
    command: list[str], cwd: Path, env: dict | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    """``command`` run in ``cwd`` (``env``: its environment, else this one's), its output
    captured as text, at most ``timeout`` seconds; it may fail (see ``returncode``)."""
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="session")
def default_project(tmp_path_factory) -> Path:
    """The default project, rendered once per test session."""
    return render(tmp_path_factory.mktemp("default"))


def ivy_dir(project: Path) -> str:
    """The Ivy folder of the rendered Spark runtime under the home folder, read from its
    ivysettings.xml (``.ivy2.5.2``)."""
    (settings,) = project.glob("src/*/runtime/ivysettings.xml")
    cache_dir = re.search(r'defaultCacheDir="\$\{user.home\}/([^/"]+)/', settings.read_text())
    assert cache_dir, "ivysettings.xml no longer keeps its cache under ${user.home}"
    return cache_dir.group(1)
