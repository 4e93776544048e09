"""The hooks: pre-generation refuses answers that cannot deploy; post-generation removes
only the optional files the template rendered."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import REPO, answers_for, load_hook, render
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter


@pytest.mark.parametrize(
    ("answers", "line"),
    [
        pytest.param(
            {"databricks_prod_workspace_host": "http://adb-1.1.azuredatabricks.net"},
            "databricks_prod_workspace_host='http://adb-1.1.azuredatabricks.net': "
            "must be an https URL",
            id="http",
        ),
        pytest.param(
            {"databricks_staging_workspace_host": "dbc-1.cloud.databricks.com"},
            "databricks_staging_workspace_host='dbc-1.cloud.databricks.com': must be an https URL",
            id="no-scheme",
        ),
        pytest.param(
            {"catalog_prod": "ml-prod"},
            "catalog_prod='ml-prod': must be a Unity Catalog identifier",
            id="hyphen-in-catalog",
        ),
        pytest.param(
            {"schema_name": "1st"},
            "schema_name='1st': must be a Unity Catalog identifier",
            id="schema-starts-with-digit",
        ),
        pytest.param(
            {"catalog_test": "staging"},
            "catalog_staging='staging': must differ from catalog_test='staging'",
            id="shared-catalog",
        ),
        pytest.param(
            {"catalog_test": "Staging"},
            "catalog_staging='staging': must differ from catalog_test='Staging' "
            "(Unity Catalog ignores case)",
            id="shared-catalog-in-another-case",
        ),
        pytest.param(
            {"release_branch": " "},
            "release_branch=' ': must be a valid git branch name",
            id="blank-branch",
        ),
    ],
)
def test_bad_answers_stop_generation(answers, line, tmp_path, capfd):
    """The hook refuses each answer with its own rule (not a crash) and leaves nothing."""
    with pytest.raises(FailedHookException):
        render(tmp_path, **answers)
    failure, count = capfd.readouterr().err.splitlines()  # the hook's whole stderr
    assert failure.startswith(f"ERROR: {line}")
    assert count == "ERROR: 1 invalid answer(s); nothing was generated."
    assert not any(tmp_path.iterdir()), "a refused project left files behind"


def test_good_answers_pass(tmp_path):
    project = render(
        tmp_path,
        databricks_prod_workspace_host="https://dbc-1a2b.cloud.databricks.com/",
        catalog_prod="ml_prod",
        default_branch="trunk",
    )
    assert (project / "databricks.yml").is_file()


def test_a_host_pasted_from_the_browser_is_reduced_to_scheme_and_host(tmp_path):
    project = render(
        tmp_path,
        databricks_prod_workspace_host="https://X.cloud.databricks.com/?o=123#job/456",
    )
    bundle = (project / "databricks.yml").read_text()
    assert "host: https://x.cloud.databricks.com\n" in bundle
    assert "?o=123" not in bundle and "#job" not in bundle


post_gen = load_hook("post_gen_project")
pre_gen = load_hook("pre_gen_project")


def _rerender(output_dir, **answers):
    """Render again over an existing project, as `cookiecutter -f` does."""
    return cookiecutter(
        str(REPO),
        no_input=True,
        output_dir=str(output_dir),
        extra_context=answers,
        overwrite_if_exists=True,
    )


def test_a_rerender_removes_only_files_the_template_rendered(tmp_path):
    """A user's file under a path the new answers switch off survives `-f`, with its folder."""
    project = render(tmp_path, cicd_platform="github_actions")
    dependabot = project / ".github" / "dependabot.yml"
    dependabot.write_text("version: 2\nupdates: []\n", encoding="utf-8")
    own_check = project / "src" / "flight_delays" / "monitoring" / "own_check.py"
    own_check.write_text("LIMIT = 3\n", encoding="utf-8")

    _rerender(tmp_path, cicd_platform="gitlab", include_monitoring="no")

    assert dependabot.read_text(encoding="utf-8") == "version: 2\nupdates: []\n"
    assert not (project / ".github" / "workflows").exists()
    assert (project / ".gitlab-ci.yml").is_file()
    assert own_check.read_text(encoding="utf-8") == "LIMIT = 3\n"
    assert sorted(p.name for p in own_check.parent.iterdir()) == ["own_check.py"]
    assert not (project / "resources" / "monitoring-job.yml").exists()


def test_a_rerender_refuses_to_overwrite_files_of_yours_that_its_answers_remove(tmp_path, capfd):
    """Your own file where the template renders one that the answers switch off, now and
    at the first render (a monitor step of your own without include_monitoring, a GitHub
    workflow of your own in a GitLab project): `-f` would overwrite it and the hook then
    delete it, so pre_gen refuses, naming each, and leaves the project as it was."""
    answers = {"cicd_platform": "gitlab", "include_monitoring": False}
    project = render(tmp_path, **answers)
    (project / ".github" / "workflows").mkdir(parents=True)
    (project / ".github" / "workflows" / "ci.yml").write_text("name: mirror\n", encoding="utf-8")
    (project / "src" / "flight_delays" / "steps" / "monitor.py").write_text("MINE = 1\n")
    before = {p: p.read_bytes() for p in project.rglob("*") if p.is_file()}

    with pytest.raises(FailedHookException):
        _rerender(tmp_path, **answers)

    *lines, count = capfd.readouterr().err.splitlines()  # the hook's whole stderr
    assert [line.split(": ")[1] for line in lines] == [
        ".github/workflows/ci.yml",
        "src/flight_delays/steps/monitor.py",
    ]
    assert [line.split(" one that ")[1].split(" ")[0] for line in lines] == [
        "cicd_platform=gitlab",
        "include_monitoring=False",
    ]
    assert count == "ERROR: 2 file(s) of yours in the way; nothing was generated."
    assert {p: p.read_bytes() for p in project.rglob("*") if p.is_file()} == before

    # What the first render's answers (.cruft.json) switched off decides: an option it did
    # not have counts as on, so a file there may be that render's; without the file, no
    # refusal at all.
    now = {**answers_for(**answers), "_repo_dir": str(REPO)}
    state_file = project / ".cruft.json"
    state = json.loads(state_file.read_text(encoding="utf-8"))
    del state["context"]["cookiecutter"]["include_monitoring"]
    state_file.write_text(json.dumps(state), encoding="utf-8")
    lost = pre_gen.files_a_rerender_would_lose(now, project)
    assert lost == {".github/workflows/ci.yml": "cicd_platform=gitlab"}
    state_file.unlink()
    assert pre_gen.files_a_rerender_would_lose(now, project) == {}


def test_a_rerender_from_a_template_outside_git_records_its_answers_for_the_next(tmp_path):
    """A template folder that is no git checkout (an unpacked archive) gives no new
    .cruft.json state, yet the project's answers there follow each render: the files a
    render wrote are never taken for the user's by the next `-f` rerender."""
    project = render(tmp_path / "out", include_monitoring=False)  # .cruft.json: off
    first = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    commit, first = first["commit"], first["context"]["cookiecutter"]
    plain = tmp_path / "template"
    plain.mkdir()
    for name in ("cookiecutter.json", "hooks", "{{cookiecutter.project_slug}}"):
        copy = shutil.copytree if (REPO / name).is_dir() else shutil.copy2
        copy(REPO / name, plain / name)
    monitor = project / "src" / "flight_delays" / "steps" / "monitor.py"

    platforms = {True: ("gitlab", "GitLab CI/CD"), False: ("github_actions", "GitHub Actions")}
    for monitoring in (True, False):  # the second would be refused on stale answers
        platform, platform_name = platforms[monitoring]
        cookiecutter(
            str(plain),
            no_input=True,
            output_dir=str(tmp_path / "out"),
            extra_context={"include_monitoring": monitoring, "cicd_platform": platform},
            overwrite_if_exists=True,
        )
        state = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
        assert state["context"]["cookiecutter"]["include_monitoring"] is monitoring
        # and the private values computed from the answers follow them
        assert state["context"]["cookiecutter"]["__cicd_name"] == platform_name
        recorded = {k: state["context"]["cookiecutter"][k] for k in ("_template", "_commit")}
        assert recorded == {"_template": first["_template"], "_commit": commit}
        assert state["commit"] == commit  # what update-template diffs from is kept
        assert monitor.exists() is monitoring


def test_a_rerender_from_a_relative_template_path_keeps_the_users_files(tmp_path):
    """`cookiecutter <relative path> -f` typed in a shell: the hook, which runs in the
    project folder, finds the template through $PWD (the shell's folder)."""
    project = render(tmp_path, cicd_platform="github_actions")
    dependabot = project / ".github" / "dependabot.yml"
    dependabot.write_text("version: 2\nupdates: []\n", encoding="utf-8")
    relative = os.path.relpath(REPO, tmp_path)
    command = [sys.executable, "-m", "cookiecutter", "--no-input", "-f", "-o", ".", relative]
    subprocess.run(
        [*command, "cicd_platform=gitlab"],
        cwd=tmp_path,
        env={**os.environ, "PWD": str(tmp_path)},
        check=True,
        capture_output=True,
    )
    assert (project / ".gitlab-ci.yml").is_file()
    assert not (project / ".github" / "workflows").exists()
    assert dependabot.read_text(encoding="utf-8") == "version: 2\nupdates: []\n"


def test_without_the_template_folder_every_listed_file_goes(tmp_path):
    """The fallback (cruft with a remote template renders into a fresh folder)."""
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text("x", encoding="utf-8")
    (tmp_path / ".github" / "dependabot.yml").write_text("x", encoding="utf-8")
    deleted = post_gen.remove_rendered([tmp_path / ".github"], tmp_path, None)
    assert len(deleted) == 2 and not (tmp_path / ".github").exists()


def test_a_rag_rerender_prunes_then_renames_and_keeps_the_users_files(tmp_path):
    """use_case=rag over itself with `-f`: the tabular cli.py the render writes again is
    removed before cli.rag.py takes its name; a user's own test under tests/ survives."""
    project = render(tmp_path, use_case="rag")
    # Unnamed, a rag project takes the rag defaults, not the flights example's.
    assert project.name == "docs-qa"
    readme = (project / "README.md").read_text(encoding="utf-8").splitlines()
    assert readme[0] == "# Docs QA"
    assert readme[2] == (
        "Answer questions on the documentation of Python standard-library modules, "
        "citing the sources."
    )
    own_test = project / "tests" / "test_my_corpus.py"
    own_test.write_text("def test_mine():\n    assert True\n", encoding="utf-8")

    _rerender(tmp_path, use_case="rag")

    cli = (project / "src" / "docs_qa" / "cli.py").read_text(encoding="utf-8")
    assert "ingest_documents = _step_entry(" in cli and "batch_inference" not in cli
    assert not list(project.rglob("*.rag.*"))
    assert not (project / "src" / "docs_qa" / "steps" / "train.py").exists()
    assert own_test.is_file()


def test_a_variant_never_overwrites_a_file_the_pruning_kept(tmp_path):
    (tmp_path / "cli.rag.py").write_text("rag", encoding="utf-8")
    (tmp_path / "cli.py").write_text("kept", encoding="utf-8")
    with pytest.raises(FileExistsError, match=r"cli\.py: exists"):
        post_gen.rename_variants({"cli.rag.py": "cli.py"}, tmp_path)
    assert (tmp_path / "cli.py").read_text(encoding="utf-8") == "kept"
    (tmp_path / "cli.py").unlink()
    moves = post_gen.rename_variants({"cli.rag.py": "cli.py"}, tmp_path)
    assert moves == [(tmp_path / "cli.rag.py", tmp_path / "cli.py")]
    assert (tmp_path / "cli.py").read_text(encoding="utf-8") == "rag"
