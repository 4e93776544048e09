"""The two inference options: switched off, none of their files, entry points, jobs,
settings or docs are rendered; switched on, the streaming checkpoint lives in a
volume the bundle declares."""

from __future__ import annotations

import ast
import tomllib

import yaml
from bundle import merged_resources
from conftest import render
from matrix import rendered, text_files

STREAMING_WORDS = ("stream-inference", "stream_inference", "stream_predictions", "streaming:")
ONLINE_WORDS = (
    "serve`",
    "serve kept",
    "serving:",
    "serving/",
    "serving_checks",
    "inference_table",
    "serving_endpoint",
    "endpoint_name",
)


# The files whose words a reader meets: code, settings, docs and the Makefile.
READ = (".py", ".yml", ".toml", ".md")


def test_both_off_render_nothing_of_either(tmp_path):
    project = render(tmp_path, include_streaming_inference=False, include_online_serving=False)
    package = project / "src" / "flight_delays"
    assert not (package / "steps" / "stream_inference.py").exists()
    assert not (package / "serving").exists()
    assert not (project / "resources" / "streaming-inference-job.yml").exists()
    assert not (project / "benchmarks" / "streaming.py").exists()
    assert not (project / "benchmarks" / "online_serving.py").exists()
    scripts = tomllib.loads((project / "pyproject.toml").read_text())["project"]["scripts"]
    assert "stream-inference" not in scripts and "serve" not in scripts
    config = yaml.safe_load((package / "conf" / "config.yml").read_text())
    assert "streaming" not in config["common"] and "serving" not in config["common"]
    assert "volumes" not in merged_resources(project)
    for path, text in text_files(project).items():
        if path.suffix in READ or path.name == "Makefile":
            for word in (*STREAMING_WORDS, *ONLINE_WORDS):
                assert word not in text, (path, word)


def docstrings(source: str) -> list[str]:
    """The docstrings (module, classes, functions) of the Python ``source``, each on one line."""
    kinds = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    found = [ast.get_docstring(n) for n in ast.walk(ast.parse(source)) if isinstance(n, kinds)]
    return [" ".join(doc.split()) for doc in found if doc]


def test_rag_without_online_serving_documents_none_of_it(tmp_path_factory):
    """The rag project's docs name no `serve`, Model Serving endpoint or inference table
    when online serving is off (its monitor reads the ask traces only). Its Python, the
    same in both renders (no Jinja), names the inference table only in a docstring that
    says it comes with online serving."""
    project = rendered(tmp_path_factory, {"use_case": "rag", "include_online_serving": False})
    scripts = tomllib.loads((project / "pyproject.toml").read_text())["project"]["scripts"]
    assert "serve" not in scripts
    named = 0
    for path, text in text_files(project).items():
        if path.suffix == ".md":
            for word in ONLINE_WORDS:
                assert word not in text, (path, word)
        if path.suffix == ".py" and path.parts[0] == "src":
            for doc in docstrings(text):
                if "inference table" in doc or "inference_table" in doc:
                    named += 1
                    assert "online serving" in doc, (path, doc[:100])
    assert named >= 3  # the monitor step's module, its run and served, the settings' tables


def test_defaults_render_both_with_the_checkpoint_in_a_bundle_volume(default_project):
    scripts = tomllib.loads((default_project / "pyproject.toml").read_text())["project"]["scripts"]
    assert {"stream-inference", "serve"} <= set(scripts)
    package = default_project / "src" / "flight_delays"
    config = yaml.safe_load((package / "conf" / "config.yml").read_text())
    volume = merged_resources(default_project)["volumes"]["checkpoints"]
    assert volume["catalog_name"] == "${var.catalog}" and volume["schema_name"] == "${var.schema}"
    for env in ("dev", "staging", "prod", "test"):
        environment = config["environments"][env]
        checkpoint = environment["streaming"]["checkpoint"]
        prefix = f"/Volumes/{environment['catalog']}/{environment['schema']}/{volume['name']}/"
        assert checkpoint.startswith(prefix), (env, checkpoint)


def test_with_one_kind_on_the_readme_names_only_that_kind(tmp_path):
    streaming = render(tmp_path / "streaming", include_online_serving=False)
    readme = (streaming / "README.md").read_text(encoding="utf-8")
    assert "### Batch and streaming inference\n" in readme
    assert "online inference" not in readme and "server start" not in readme
    online = render(tmp_path / "online", include_streaming_inference=False)
    readme = (online / "README.md").read_text(encoding="utf-8")
    assert "### Batch and online inference\n" in readme
    assert "streaming inference" not in readme.lower()
