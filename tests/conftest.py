"""Shared fixtures of the generator's tests: rendering the template."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

REPO = Path(__file__).resolve().parents[1]
CONTEXT = json.loads((REPO / "cookiecutter.json").read_text(encoding="utf-8"))
BOOLEAN_OPTIONS = sorted(k for k, v in CONTEXT.items() if isinstance(v, bool))


def render(output_dir: Path, **answers) -> Path:
    """Render the template with ``answers`` over the defaults; returns the project folder."""
    return Path(
        cookiecutter(str(REPO), no_input=True, output_dir=str(output_dir), extra_context=answers)
    )


@pytest.fixture(scope="session")
def default_project(tmp_path_factory) -> Path:
    """The default project, rendered once per test session."""
    return render(tmp_path_factory.mktemp("default"))
