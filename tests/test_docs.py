"""The template repo's own documents: the README options table and the changelog."""

from __future__ import annotations

import importlib.util

from conftest import CONTEXT, REPO, answers_for, load_hook

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
