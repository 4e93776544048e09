"""The template repo's own documents: the README options table and the changelog."""

from __future__ import annotations

import importlib.util
import re

import pytest
import yaml
from conftest import CONTEXT, REPO, answers_for, load_hook, render

spec = importlib.util.spec_from_file_location("options_doc", REPO / "scripts" / "options_doc.py")
options_doc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(options_doc)


def table_rows() -> dict[str, str]:
    """The options table of cookiecutter.json as it stands: option name -> its row."""
    table = options_doc.options_table(CONTEXT, load_hook("pre_gen_project"))
    return {line.split("`")[1]: line for line in table.splitlines() if line.startswith("| `")}


def test_readme_options_table_is_generated_from_cookiecutter_json():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert readme == options_doc.expected_readme(), "run: make docs"


def test_table_has_one_row_per_question_and_follows_changes():
    pre_gen = load_hook("pre_gen_project")
    questions = [k for k in CONTEXT if not k.startswith("_")]
    table = options_doc.options_table(CONTEXT, pre_gen)
    assert [line.split("`")[1] for line in table.splitlines()[2 : 2 + len(questions)]] == questions
    changed = {**CONTEXT, "hotfix_branch": "hotfix"}
    row = options_doc.options_table(changed, pre_gen).splitlines()[2 + len(questions)]
    assert row.startswith("| `hotfix_branch` | `hotfix` |")
    assert "A branch name git accepts" in row


def test_defaults_that_depend_on_the_use_case_are_shown_for_each():
    rows = table_rows()
    assert rows["project_name"].startswith(
        "| `project_name` | tabular: `Flight Delays`; rag: `Docs QA` |"
    )
    assert rows["description"].startswith(
        "| `description` | tabular: `Predict a flight's arrival delay in minutes from what is "
        "known one hour before departure.`; rag: `Answer questions on the documentation of "
        "Python standard-library modules, citing the sources.` |"
    )
    # The same as cookiecutter derives, for every use case.
    for use_case in CONTEXT["use_case"]:
        answers = answers_for(use_case=use_case)
        assert f"{use_case}: `{answers['project_name']}`" in rows["project_name"]
        assert f"{use_case}: `{answers['description']}`" in rows["description"]
    # A default derived from another answer as well is not rendered per use case.
    assert rows["project_slug"].startswith("| `project_slug` | derived from `project_name` |")


def test_the_yaml_rule_shows_on_the_rows_of_the_names_written_unquoted_into_yaml():
    rows = table_rows()
    yaml_rule = "Not a word or number YAML reads as a boolean, null, number or date"
    marked = {name for name, row in rows.items() if yaml_rule in row}
    assert marked == {"project_slug", "package_name", "schema_name"} | {
        name for name in rows if name.startswith("catalog_")
    }


def test_changelog_has_an_unreleased_section():
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "\n## [Unreleased]\n" in changelog


def test_changelog_names_each_kind_of_change_once_per_release():
    """Keep a Changelog: one `### Added`, `### Changed`, ... per release section."""
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    for release in changelog.split("\n## ")[1:]:
        kinds = [line for line in release.splitlines() if line.startswith("### ")]
        assert len(kinds) == len(set(kinds)), (release.splitlines()[0], kinds)


def test_table_marks_the_options_rag_ignores():
    rows = table_rows()
    marked = {name for name, row in rows.items() if "ignored when `use_case` is `rag`" in row}
    assert marked == set(CONTEXT["_tabular_only"]) and "include_feature_store" in marked
    assert "include_online_serving" not in marked  # online serving applies to both use cases
    changed = {**CONTEXT, "_tabular_only": ["cloud"]}
    table = options_doc.options_table(changed, load_hook("pre_gen_project")).splitlines()
    (row,) = [line for line in table if line.startswith("| `cloud` |")]
    assert row.endswith(
        "(tabular only: ignored when `use_case` is `rag`) | one of the choices "
        "(cookiecutter refuses anything else) |"
    )


# Where the project name may land, as the project_name prompt names the places: place ->
# (file, the line of it that holds the name).
NAME_PLACES = {
    "README title": ("README.md", "# {}"),
    "package docstring": ("src/{package}/__init__.py", '"""{}.'),
}


@pytest.mark.parametrize("use_case", ["tabular", "rag"])
def test_the_project_name_lands_where_its_prompt_says_and_nowhere_else(tmp_path, use_case):
    """The places in the prompt's parentheses (before ";") hold the name, each on its own
    line, and no other file but .cruft.json (the answers) does; the jobs are named by
    the slug, as the prompt says after ";"."""
    name = "Zebra Forecast 7"
    prompt = CONTEXT["__prompts__"]["project_name"]
    places = re.split(r", | and ", prompt.split("(", 1)[1].split(";")[0])
    project = render(tmp_path, project_name=name, use_case=use_case)
    package = answers_for(project_name=name)["package_name"]
    expected = {".cruft.json"}
    for place in places:
        path, line = NAME_PLACES[place]  # a place the prompt names must be one of these
        path = path.format(package=package)
        assert line.format(name) in (project / path).read_text(encoding="utf-8").splitlines()
        expected.add(path)
    holding = {
        p.relative_to(project).as_posix()
        for p in project.rglob("*")
        if p.is_file() and name in p.read_text(encoding="utf-8", errors="replace")
    }
    assert holding == expected
    assert "the slug" in prompt.split(";")[1]
    jobs = {}
    for resource in project.glob("resources/*.yml"):
        jobs |= yaml.safe_load(resource.read_text(encoding="utf-8"))["resources"].get("jobs", {})
    assert jobs
    assert [j["name"] for j in jobs.values() if not j["name"].startswith(f"{project.name}-")] == []
