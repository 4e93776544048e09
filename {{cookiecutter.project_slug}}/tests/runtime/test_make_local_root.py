"""``make clean`` and ``make mlflow-ui`` act on the folder ``MLOPS_LOCAL_ROOT`` names, else
``local_runtime``, as the package does (settings_file.LOCAL_ROOT_VAR); ``make clean``
refuses a folder that holds the project. Both use cases share the Makefile's targets."""

from __future__ import annotations

import pytest

from ..make_runs import copy_makefile, local_roots, run_make


@pytest.fixture
def project(tmp_path):
    """A project folder (the Makefile's copy) with state in ``local_runtime``, under
    ``tmp_path``."""
    folder = copy_makefile(tmp_path.joinpath("project"))
    (folder / "local_runtime").mkdir()
    (folder / "local_runtime" / "mlflow.db").write_bytes(b"store")
    return folder


def test_the_targets_name_the_folder_mlops_local_root_names_else_local_runtime(project, tmp_path):
    """``make -n`` prints the commands without running them."""
    for root, folder in local_roots(tmp_path / "state"):
        ui = run_make(project, "-n", "mlflow-ui", local_root=root).stdout.splitlines()
        assert ui == [
            f".venv/bin/mlflow ui --backend-store-uri sqlite:///{folder}/mlflow.db --port 5000"
            " --workers 1"
        ]
        clean = run_make(project, "-n", "clean", local_root=root).stdout
        assert clean.splitlines()[-1] == f"rm -rf '{folder}' summary.json", root


def test_make_clean_drops_the_folder_mlops_local_root_names_not_local_runtime(project, tmp_path):
    elsewhere = tmp_path / "state"
    (elsewhere / "warehouse").mkdir(parents=True)
    (elsewhere / "mlflow.db").write_bytes(b"store")
    (project / "summary.json").write_text("{}", encoding="utf-8")
    cleaned = run_make(project, "clean", local_root=str(elsewhere))
    assert cleaned.returncode == 0, cleaned.stderr
    assert not elsewhere.exists() and not (project / "summary.json").exists()
    assert (project / "local_runtime" / "mlflow.db").read_bytes() == b"store"
    # Without the variable, local_runtime is the folder dropped.
    assert run_make(project, "clean").returncode == 0
    assert not (project / "local_runtime").exists()


@pytest.mark.parametrize("root", [".", "parent"])
def test_make_clean_refuses_a_folder_that_holds_the_project(project, root):
    root = str(project.parent) if root == "parent" else root
    refused = run_make(project, "clean", "FORCE=1", local_root=root)
    assert refused.returncode != 0
    assert refused.stderr.splitlines()[0] == f"error: {root} holds this folder: not removing it"
    assert (project / "Makefile").is_file() and (project / "local_runtime").is_dir()
