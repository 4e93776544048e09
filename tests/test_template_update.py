"""A rendered project takes later template changes with cruft (``make update-template``).

The template is copied into a git repository of its own, rendered with ``cruft create``
or plain cookiecutter (whose post-generation hook writes ``.cruft.json``), changed in
later commits, and the project updated with its own Makefile target.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, run
from cookiecutter.main import cookiecutter

cruft = pytest.importorskip("cruft")
pytestmark = pytest.mark.skipif(
    shutil.which("git") is None or shutil.which("make") is None, reason="needs git and make"
)

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}
README = "{{cookiecutter.project_slug}}/README.md"


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd``; returns stdout, raises on failure."""
    return subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True, check=True
    ).stdout.strip()


def commit_all(cwd: Path, message: str) -> str:
    """Commit every change in ``cwd``; returns the new commit hash."""
    git(cwd, "add", "-A")
    git(cwd, "commit", "-q", "-m", message)
    return git(cwd, "rev-parse", "HEAD")


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)


def update_template(project: Path, *settings: str) -> subprocess.CompletedProcess:
    """``make update-template`` in ``project`` with the tools of this test environment
    (and ``settings``, ``NAME=value`` arguments of make)."""
    return subprocess.run(
        ["make", "update-template", f"BIN={Path(sys.executable).parent}", *settings],
        cwd=project,
        env=GIT_ENV,
        capture_output=True,
        text=True,
    )


def recorded_commit(project: Path, ref: str | None = None) -> str:
    """The template commit .cruft.json names, in the working tree or at git ``ref``."""
    if ref:
        return json.loads(git(project, "show", f"{ref}:.cruft.json"))["commit"]
    return json.loads((project / ".cruft.json").read_text(encoding="utf-8"))["commit"]


def copy_template(target: Path) -> Path:
    """This template as it is on disk (without .git, the venv and build output), copied to
    ``target``; returns ``target``."""
    ignore = shutil.ignore_patterns(".git", ".venv", "build", "__pycache__", ".*_cache")
    shutil.copytree(REPO, target, ignore=ignore)
    return target


def project_files(project: Path) -> set[str]:
    """Paths ('/'-separated, relative to ``project``) of every file under ``project``."""
    return {p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()}


@pytest.fixture
def template_repo(tmp_path, request) -> Path:
    """This template, as it is on disk, committed to a fresh git repository: at its top,
    or (indirect parameter ``"subfolder"``) in ``templates/mlops`` of a larger one."""
    top = tmp_path / "template"
    inside = getattr(request, "param", "top") == "subfolder"
    target = copy_template(top / "templates" / "mlops" if inside else top)
    git(top, "init", "-q")
    commit_all(top, "template v1")
    return target


def with_cruft(template: Path, output_dir: Path) -> Path:
    """Render ``template`` with ``cruft create``, which writes ``.cruft.json`` itself."""
    return cruft.create(str(template), output_dir=output_dir, no_input=True)


def with_cookiecutter(template: Path | str, output_dir: Path) -> Path:
    """Render ``template`` (a folder or a repository URL) with plain cookiecutter, as
    `cookiecutter <template>` does."""
    return Path(cookiecutter(str(template), no_input=True, output_dir=str(output_dir)))


@pytest.mark.parametrize(
    ("create", "template_repo"),
    [
        pytest.param(with_cruft, "top", id="cruft"),
        pytest.param(with_cookiecutter, "top", id="cookiecutter"),
        pytest.param(with_cookiecutter, "subfolder", id="cookiecutter-subfolder"),
    ],
    indirect=["template_repo"],
)
def test_update_brings_template_changes_and_stops_on_conflicts(tmp_path, template_repo, create):
    project = create(template_repo, tmp_path / "out")
    answers = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert answers["commit"] == git(template_repo, "rev-parse", "HEAD")
    top = tmp_path / "template"
    assert answers["template"] == str(top)
    inside = template_repo != top
    assert answers["directory"] == ("templates/mlops" if inside else None)
    assert answers["context"]["cookiecutter"]["project_slug"] == "flight-delays"
    assert answers["context"]["cookiecutter"]["_commit"] == answers["commit"]
    git(project, "init", "-q")
    commit_all(project, "rendered")

    # No template change: the update rewrites .cruft.json as it was, so nothing changes.
    result = update_template(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert git(project, "status", "--porcelain") == ""

    # A template change arrives, with a new private variable (recorded in .cruft.json).
    append(template_repo / README, "\nTemplate line, version 2.\n")
    variables_file = template_repo / "cookiecutter.json"
    variables = json.loads(variables_file.read_text(encoding="utf-8"))
    variables["_added_in_v2"] = "v2"
    variables_file.write_text(json.dumps(variables, indent=4) + "\n", encoding="utf-8")
    v2 = commit_all(template_repo, "template v2")
    result = update_template(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        (project / "README.md")
        .read_text(encoding="utf-8")
        .endswith("\nTemplate line, version 2.\n")
    )
    assert recorded_commit(project) == v2
    state = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert state["context"]["cookiecutter"]["_added_in_v2"] == "v2"
    assert not list(project.rglob("*.rej"))
    commit_all(project, "template v2 applied")

    # The user and the template both change that line: a conflict, reported, nothing committed.
    readme = project / "README.md"
    readme.write_text(
        readme.read_text(encoding="utf-8").replace("version 2.", "edited by the team."),
        encoding="utf-8",
    )
    edited = commit_all(project, "our edit")
    template_readme = template_repo / README
    template_readme.write_text(
        template_readme.read_text(encoding="utf-8").replace("version 2.", "version 3."),
        encoding="utf-8",
    )
    commit_all(template_repo, "template v3")
    result = update_template(project)
    assert result.returncode != 0
    assert "Template update has conflicts in:" in result.stdout
    assert "README.md" in result.stdout
    text = readme.read_text(encoding="utf-8")
    assert "edited by the team." in text and "version 3." in text and "<<<<<<<" in text
    assert git(project, "rev-parse", "HEAD") == edited
    assert recorded_commit(project, "HEAD") == v2


def test_a_template_folder_outside_git_renders_without_cruft_json(
    tmp_path, monkeypatch, default_project
):
    """Rendered from a plain copy of the template (no ``.git``, and git may not look above
    the copy), the project gets no ``.cruft.json``: there is no commit to record. The rest
    of the render is the same file for file as the default render from this checkout,
    which does get one."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    template = copy_template(tmp_path / "template")
    assert run(["git", "rev-parse"], template).returncode != 0, "the copy is in a checkout"
    project = with_cookiecutter(template, tmp_path / "out")
    assert ".cruft.json" in project_files(default_project)
    assert project_files(project) == project_files(default_project) - {".cruft.json"}


def test_a_render_from_a_git_url_records_the_url_and_its_head(tmp_path, template_repo):
    """Rendered from a ``file://`` URL of a bare repository (cookiecutter clones it, as it
    does a remote one), ``.cruft.json`` names the URL, not the clone's folder, and the
    repository's HEAD as the commit, so ``cruft update`` fetches from the URL."""
    bare = tmp_path / "mlops-template.git"  # ".git": cookiecutter's sign of a git URL
    git(tmp_path, "clone", "-q", "--bare", str(template_repo), str(bare))
    url = bare.as_uri()
    assert url.startswith("file:///")
    project = with_cookiecutter(url, tmp_path / "out")
    state = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    head = git(bare, "rev-parse", "HEAD")
    assert head == git(template_repo, "rev-parse", "HEAD")
    assert (state["template"], state["commit"], state["directory"]) == (url, head, None)
    context = state["context"]["cookiecutter"]
    assert (context["_template"], context["_commit"]) == (url, head)
    assert context["project_slug"] == "flight-delays"


def test_a_project_rendered_from_a_branch_takes_that_branchs_changes(tmp_path, template_repo):
    """Rendered with ``checkout="stable"`` (cookiecutter's ``--checkout``, recorded in
    .cruft.json), ``make update-template`` brings the newest commit of ``stable``, not of
    the template's default branch, and keeps ``stable`` recorded."""
    default = git(template_repo, "rev-parse", "--abbrev-ref", "HEAD")
    git(template_repo, "branch", "stable")
    bare = tmp_path / "mlops-template.git"
    git(tmp_path, "clone", "-q", "--bare", str(template_repo), str(bare))
    # From the template's folder, cookiecutter renders its files as they are: no checkout
    # is recorded, so an update does not take the project back to an older branch.
    folder = Path(
        cookiecutter(
            str(template_repo), checkout="stable", no_input=True, output_dir=str(tmp_path / "f")
        )
    )
    assert json.loads((folder / ".cruft.json").read_text(encoding="utf-8"))["checkout"] is None
    project = Path(
        cookiecutter(
            bare.as_uri(), checkout="stable", no_input=True, output_dir=str(tmp_path / "out")
        )
    )
    assert json.loads((project / ".cruft.json").read_text(encoding="utf-8"))["checkout"] == (
        "stable"
    )
    git(project, "init", "-q")
    commit_all(project, "rendered")
    result = update_template(project)  # nothing new on stable: nothing changes
    assert result.returncode == 0, result.stdout + result.stderr
    assert git(project, "status", "--porcelain") == ""
    append(template_repo / README, "\nOn the default branch.\n")
    commit_all(template_repo, "default branch v2")
    git(template_repo, "checkout", "-q", "stable")
    append(template_repo / README, "\nOn stable.\n")
    stable = commit_all(template_repo, "stable v2")
    git(template_repo, "push", "-q", str(bare), "stable", default)

    result = update_template(project)
    assert result.returncode == 0, result.stdout + result.stderr
    text = (project / "README.md").read_text(encoding="utf-8")
    assert text.endswith("\nOn stable.\n") and "On the default branch." not in text
    state = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert (state["commit"], state["checkout"]) == (stable, "stable")

    # TEMPLATE_CHECKOUT moves the project to another branch, which is recorded.
    commit_all(project, "stable v2 applied")
    result = update_template(project, f"TEMPLATE_CHECKOUT={default}")
    assert result.returncode == 0, result.stdout + result.stderr
    text = (project / "README.md").read_text(encoding="utf-8")
    assert text.endswith("\nOn the default branch.\n") and "On stable." not in text
    state = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert (state["commit"], state["checkout"]) == (git(bare, "rev-parse", default), default)


def test_update_template_installs_cruft_only_when_the_venv_lacks_it(tmp_path):
    """``make update-template`` in a project without ``.venv`` (as rendered) creates it and
    installs the ``tools`` extra (cruft) before ``cruft update``; in a ``.venv`` without
    cruft (after ``make install``) it installs the extra only; with cruft there it runs
    ``cruft update`` alone. ``make -n`` prints the commands make would run, in order,
    without running them."""
    project = with_cookiecutter(REPO, tmp_path / "out")

    def planned(bin_dir: Path, *settings: str) -> list[str]:
        done = subprocess.run(
            ["make", "-n", "update-template", f"BIN={bin_dir}", f"VENV={bin_dir.parent}"]
            + list(settings),
            cwd=project,
            capture_output=True,
            text=True,
            check=True,
        )
        lines = done.stdout.splitlines()
        return [line for line in lines if line.startswith((f"{bin_dir}/", "python3 -m venv"))]

    update = "cruft update --skip-apply-ask --refresh-private-variables --allow-untracked-files"
    fresh = tmp_path / "fresh" / "bin"
    assert planned(fresh) == [
        f"python3 -m venv {fresh.parent}",
        f"{fresh}/pip install --quiet --upgrade pip",
        f"{fresh}/pip install --quiet -e '.[tools]'",
        f"{fresh}/{update}",
    ]
    installed = tmp_path / "installed" / "bin"
    installed.mkdir(parents=True)
    (installed / "python").touch()
    assert planned(installed) == [
        f"{installed}/pip install --quiet -e '.[tools]'",
        f"{installed}/{update}",
    ]
    ours = Path(sys.executable).parent  # this environment has cruft (imported above)
    assert (ours / "cruft").is_file() and (ours / "python").exists()
    assert planned(ours) == [f"{ours}/{update}"]
    # Another branch or tag than the one recorded (none here): TEMPLATE_CHECKOUT=
    assert planned(ours, "TEMPLATE_CHECKOUT=v2.0") == [f"{ours}/{update} --checkout v2.0"]
    # A recorded one is read shell-quoted (git allows ' in a branch name)
    state_file = project / ".cruft.json"
    state = json.loads(state_file.read_text(encoding="utf-8"))
    state_file.write_text(json.dumps({**state, "checkout": "it's"}), encoding="utf-8")
    assert planned(ours) == [f"""{ours}/{update} --checkout 'it'"'"'s'"""]
