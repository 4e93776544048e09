"""Every console script a render declares points at a function its package defines.

pyproject.toml picks the script lines with the same options that prune the modules
(``_optional_files``); this checks the two agree in the renders at both ends of the
options, so no script names a pruned module and no kept part loses its script.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest
from matrix import rendered

NO_PARTS = {
    "include_monitoring": False,
    "include_feature_store": False,
    "include_streaming_inference": False,
    "include_online_serving": False,
}
RENDERS = [
    pytest.param({}, {"serve", "stream-inference", "monitor"}, id="tabular-all-parts"),
    pytest.param(NO_PARTS, set(), id="tabular-no-parts"),
    pytest.param({"use_case": "rag"}, {"serve", "monitor"}, id="rag-serving"),
    pytest.param(
        {"use_case": "rag", "include_online_serving": False}, {"monitor"}, id="rag-no-serving"
    ),
]


def _defined(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


@pytest.mark.parametrize(("answers", "optional"), RENDERS)
def test_every_console_script_names_a_function_the_render_keeps(
    tmp_path_factory, answers, optional
):
    project = rendered(tmp_path_factory, answers)
    scripts = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "scripts"
    ]
    for name, target in scripts.items():
        module, function = target.split(":")
        path = (project / "src" / Path(*module.split("."))).with_suffix(".py")
        assert path.is_file(), f"script {name}: {path.relative_to(project)} was not rendered"
        assert function in _defined(path), f"script {name}: {target} is not defined"
    assert optional == set(scripts) & {"serve", "stream-inference", "monitor"}
