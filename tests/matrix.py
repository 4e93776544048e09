"""The deployment option matrix, as data, and a cache of rendered projects.

Every combination of cloud x CI/CD platform x compute x use case is rendered once
per session; the bundle and CI tests read the same folders.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from conftest import CONTEXT, render

CLOUDS = tuple(CONTEXT["cloud"])
PLATFORMS = tuple(CONTEXT["cicd_platform"])
COMPUTES = tuple(CONTEXT["compute"])
USE_CASES = tuple(CONTEXT["use_case"])

COMBINATIONS = [
    pytest.param(
        {"cloud": cloud, "cicd_platform": platform, "compute": compute, "use_case": use_case},
        id=f"{cloud}-{platform}-{compute}-{use_case}",
    )
    for cloud, platform, compute, use_case in itertools.product(
        CLOUDS, PLATFORMS, COMPUTES, USE_CASES
    )
]

_RENDERED: dict[tuple, Path] = {}


def rendered(tmp_path_factory: pytest.TempPathFactory, answers: dict) -> Path:
    """The project rendered with ``answers`` over the defaults, once per session."""
    key = tuple(sorted(answers.items()))
    if key not in _RENDERED:
        _RENDERED[key] = render(tmp_path_factory.mktemp("combo"), **answers)
    return _RENDERED[key]


def text_files(project: Path) -> dict[Path, str]:
    """Every UTF-8 text file of the render ``project``: path relative to it -> its text
    (files that are not UTF-8, such as the data archives, are left out)."""
    texts = {}
    for path in sorted(p for p in project.rglob("*") if p.is_file()):
        try:
            texts[path.relative_to(project)] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
    return texts
