"""The tests' private_copy: what a test logs through its copy never reaches the original."""

from __future__ import annotations

from pathlib import Path

import mlflow

from {{ cookiecutter.package_name }}.runtime.context import Context

from .conftest import local_settings, private_copy
from .mlflow_stores import registry


def files_under(root: Path) -> dict[str, bytes]:
    """{path relative to ``root``: content} of every file under ``root``."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def log_run(ctx: Context, text: str) -> str:
    """Log one run with the artifact ``note.txt`` holding ``text`` through ``ctx``; its id."""
    ctx.mlflow()
    with mlflow.start_run() as run:
        mlflow.log_text(text, "note.txt")
    return run.info.run_id


def test_a_private_copy_logs_artifacts_in_its_own_folder_and_leaves_the_original_intact(
    tmp_path,
):
    original = Context(local_settings(tmp_path / "original"))
    first = log_run(original, "original")
    artifacts = original.settings.local_root / "mlartifacts"
    before = files_under(artifacts)
    assert any(path.endswith("note.txt") for path in before)

    copy = private_copy(original, tmp_path / "copy")
    second = log_run(copy, "copy")
    copy.mlflow()
    with mlflow.start_run(run_id=first):  # the copied run: its artifacts are the copy's too
        mlflow.log_text("copy again", "later.txt")

    assert files_under(artifacts) == before
    client = registry(copy)
    for run_id in (first, second):
        uri = client.get_run(run_id).info.artifact_uri
        assert uri.startswith((tmp_path / "copy").as_uri() + "/"), uri
    copied = files_under(tmp_path / "copy" / "mlartifacts")
    assert sorted(copied[p].decode() for p in copied if p.endswith(".txt")) == [
        "copy",
        "copy again",
        "original",
    ]
    # the original's store still names only its own folder
    uri = registry(original).get_run(first).info.artifact_uri
    assert uri.startswith((tmp_path / "original").as_uri() + "/"), uri
