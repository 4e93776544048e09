"""Fixtures of the rag tests: a slice of the corpus indexed once, fresh MLflow stores per test."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
from databricks.sdk.errors import NotFound

from {{ cookiecutter.package_name }}.rag.settings import load_rag_settings
from {{ cookiecutter.package_name }}.rag.steps import index, ingest_documents
from {{ cookiecutter.package_name }}.runtime.context import Context

from ..mlflow_stores import seeded

SLICE = ["json", "textwrap", "heapq", "bisect"]  # 4 modules, 28 documents, 17 eval questions
SHARED_TABLES = ("documents_bronze", "chunks")


def slot(name: str) -> str:
    """A prompt placeholder, ``name`` in double braces (MLflow prompt syntax)."""
    return "{" * 2 + name + "}" * 2


def slice_settings(root: Path, **changes):
    """Settings of ``local`` on the corpus slice, state under ``root``, ``changes`` applied."""
    base = load_rag_settings("local")
    changes.setdefault("source", {**base.source, "modules": SLICE})
    return replace(base, local_root=root, **changes)


@pytest.fixture(scope="session")
def indexed(tmp_path_factory) -> dict:
    """The slice ingested and indexed once: {root, ingest, index} (tables read-only afterwards)."""
    root = tmp_path_factory.mktemp("indexed")
    ctx = Context(slice_settings(root))
    return {"root": root, "ingest": ingest_documents.run(ctx), "index": index.run(ctx)}


def fresh_context(root: Path, indexed: dict, shared=SHARED_TABLES, **changes) -> Context:
    """A Context whose ``shared`` tables (keys of ``tables``; default the document and chunk
    tables) are the indexed slice's, read-only (symlinked), with an MLflow store and every
    other table of its own under ``root``."""
    settings = slice_settings(root, **changes)
    for key in shared:
        name = settings.table(key).split(".")
        source = Path(indexed["root"]).joinpath("warehouse", *name)
        link = root.joinpath("warehouse", *name)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(source, target_is_directory=True)
    seeded(root)
    return Context(settings)


@pytest.fixture
def ctx(tmp_path, indexed) -> Context:
    """A fresh Context on the indexed slice (see :func:`fresh_context`)."""
    return fresh_context(tmp_path, indexed)


@pytest.fixture
def store_ctx(tmp_path) -> Context:
    """A Context with a fresh MLflow store and no table: for tests that need no Spark."""
    return Context(slice_settings(seeded(tmp_path)))


class FakeIndexes:
    """Records calls the way databricks-sdk's VectorSearchIndexesAPI receives them."""

    def __init__(self, exists: bool):
        self.exists, self.calls, self.created = exists, [], None

    def get_index(self, name):
        """The index as ``create_index`` made it; a fake made with ``exists=True`` has none
        to give (its tests only query), so it refuses rather than give None, which
        ``check_index`` would take for "no index to check"."""
        self.calls.append(("get", name))
        if not self.exists:
            raise NotFound(f"{name} does not exist")
        assert self.created is not None, "FakeIndexes(exists=True) holds no created index"
        return self.created

    def create_index(self, **kwargs):
        self.calls.append(("create", kwargs))
        self.exists = True
        self.created = SimpleNamespace(
            endpoint_name=kwargs["endpoint_name"],
            delta_sync_index_spec=kwargs["delta_sync_index_spec"],
        )

    def sync_index(self, name):
        self.calls.append(("sync", name))

    def query_index(self, name, columns, query_text, num_results):
        self.calls.append(("query", name, query_text, num_results))
        rows = [["json.dumps#0", "json.dumps", "function json.dumps", "Serialize obj", 0.9]]
        return SimpleNamespace(result=SimpleNamespace(data_array=rows))
