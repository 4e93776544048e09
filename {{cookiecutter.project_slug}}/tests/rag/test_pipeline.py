"""The whole rag pipeline on a slice of the corpus, and reruns that change nothing."""

from __future__ import annotations

import json
from dataclasses import replace
from types import SimpleNamespace

import mlflow
import pytest

from {{ cookiecutter.package_name }}.cli import STEPS, run_pipeline
from {{ cookiecutter.package_name }}.cli import ingest_documents as ingest_documents_entry
from {{ cookiecutter.package_name }}.rag import corpus, embedding, entry, vector_search
from {{ cookiecutter.package_name }}.rag.eval_set import as_eval_data, load_eval_set
from {{ cookiecutter.package_name }}.rag.pipeline import ABSTENTION
from {{ cookiecutter.package_name }}.rag.settings import load_rag_settings
from {{ cookiecutter.package_name }}.rag.steps import (
    build,
    index,
    ingest_documents,
    register_prompt,
)
from {{ cookiecutter.package_name }}.rag.steps.evaluate import load_pipeline
from {{ cookiecutter.package_name }}.runtime.context import Context
from {{ cookiecutter.package_name }}.runtime.tables import MissingTableError

from ..connect_run import run_all_over_connect
from ..mlflow_stores import registry, seeded
from ..time_zone_checks import check_sessions_get_utc
from .conftest import SLICE, FakeIndexes, fresh_context, slice_settings


@pytest.fixture(scope="module")
def slice_run(tmp_path_factory):
    """(Context, summary) of the whole pipeline on the slice, in this process (classic Spark),
    its MLflow store a copy of the empty one (the Connect run below creates its own).

    The summary is read by two tests; only the first runs steps again on the state."""
    ctx = Context(slice_settings(seeded(tmp_path_factory.mktemp("slice-run"))))
    return ctx, run_pipeline(ctx)


@pytest.mark.integration
def test_run_all_on_a_slice_promotes_a_traced_extractive_pipeline(slice_run):
    ctx, summary = slice_run

    documents = corpus.python_stdlib(SLICE)
    rows = {name.rsplit(".", 1)[-1]: count for name, count in summary["rows"].items()}
    assert rows["documents_bronze"] == len(documents) > 20
    assert rows["document_chunks"] == summary["steps"]["index"]["chunks"] > len(documents)
    assert list(summary["seconds"])[:-1] == list(STEPS)

    evaluation = summary["evaluation"]
    expected_questions = len(as_eval_data(load_eval_set(), set(documents.doc_id)))
    assert evaluation["questions"] == expected_questions >= 10
    assert evaluation["status"] == "PASSED" and evaluation["reasons"] == []
    assert evaluation["metrics"]["retrieval_hit"] >= 0.8
    assert evaluation["metrics"]["cites_retrieved_source"] == 1.0
    assert summary["champion_version"] == 1
    assert summary["steps"]["deploy"]["prompt_champion_version"] == 1

    client = registry(ctx)
    champion = client.get_model_version_by_alias(ctx.settings.model_name, "champion")
    assert champion.tags["prompt_version"] == "1"
    assert champion.tags["index_version"] == summary["steps"]["index"]["index_version"]
    assert champion.tags["validation_status"] == "PASSED"

    # Evaluation traces have a retrieval and a generation span; the offline default says so.
    run_id = summary["steps"]["evaluate"]["run_id"]
    ctx.mlflow()
    (trace,) = mlflow.search_traces(run_id=run_id, max_results=1, return_type="list")
    kinds = {span.span_type for span in trace.data.spans}
    assert {"RETRIEVER", "LLM", "CHAIN"} <= kinds
    generate = next(s for s in trace.data.spans if s.name == "generate")
    assert generate.attributes["generator"] == "extractive"
    assert generate.attributes["language_model"] is False

    # Every question of the evaluation cited a source (above): none got the abstention.
    # A question off the topic scores below retrieval.min_score: the abstention, no
    # citation, the retrieved chunks listed, and no generation span.
    champion_pipeline = load_pipeline(ctx.settings.model_name, "1")
    off_topic = champion_pipeline.answer("Who won the world cup in 2018?")
    assert off_topic["best_score"] < ctx.settings.retrieval["min_score"] == 0.11
    assert off_topic["answer"] == ABSTENTION and off_topic["citations"] == []
    assert len(off_topic["sources"]) > 0
    assert off_topic["metadata"]["abstained"] is True
    assert off_topic["metadata"]["generator"] == "none"
    assert off_topic["metadata"]["language_model"] is False
    mlflow.flush_trace_async_logging()
    spans = mlflow.get_trace(mlflow.get_last_active_trace_id()).data.spans
    assert [s.name for s in spans] == ["qa_pipeline", "retrieve"]
    question = "What does json.dumps return?"
    in_topic = champion_pipeline.answer(question)
    assert in_topic["citations"] and "abstained" not in in_topic["metadata"]
    # Its retrieval span lists the chunks retrieved, as the chunk table holds them, and
    # the best score; its generation span the prompt rendered with the question and them.
    mlflow.flush_trace_async_logging()
    trace = mlflow.get_trace(mlflow.get_last_active_trace_id())
    spans = {span.name: span for span in trace.data.spans}
    retrieved = spans["retrieve"].outputs
    chunks = {row.chunk_id: row for row in ctx.tables.read(ctx.settings.table("chunks")).collect()}
    assert [document["id"] for document in retrieved] == in_topic["chunk_ids"]
    assert len(retrieved) == ctx.settings.retrieval["k"]
    assert retrieved[0]["metadata"]["doc_uri"] == "json.dumps"
    prompt = spans["generate"].inputs["prompt"]
    assert question in prompt
    for document in retrieved:
        chunk = chunks[document["id"]]
        assert document["metadata"] == {"doc_uri": chunk.doc_id, "chunk_id": chunk.chunk_id}
        assert document["page_content"] == chunk.text and chunk.text in prompt
    best = spans["retrieve"].attributes["best_score"]  # the first chunk's (scores: rounded)
    assert best == in_topic["best_score"] == pytest.approx(in_topic["scores"][0], abs=1e-6)
    assert best > max(in_topic["scores"][1:]) and best > ctx.settings.retrieval["min_score"]

    # Evaluation traced every question, yet the monitor counts only served answers.
    assert summary["steps"]["monitor"]["answers"] == 0

    # Reruns: nothing new is ingested, embedded or registered; an unchanged corpus writes
    # no new version of the document table.
    documents_table = ctx.settings.table("documents_bronze")
    documents_version = ctx.tables.version(documents_table)
    assert ingest_documents.run(ctx)["new_or_changed"] == 0
    assert ctx.tables.version(documents_table) == documents_version
    again = index.run(ctx)
    assert again["documents_embedded"] == 0
    assert again["index_version"] == summary["steps"]["index"]["index_version"]
    handed_on = build.run(ctx)
    assert handed_on == {**handed_on, "registered": False, "model_version": 1}


@pytest.mark.integration
def test_the_same_run_over_spark_connect_gives_the_same_outputs(slice_run, tmp_path):
    """The ``run-all`` console script over Spark Connect (``MLOPS_SPARK_REMOTE=local[2]``
    starts a local Connect server), the API of Databricks serverless compute: every table
    holds as many rows as in the classic run, with the same index version, evaluation and
    champion."""
    _, classic = slice_run
    config = tmp_path / "slice.yml"
    config.write_text(json.dumps({"source": {"modules": SLICE}}))  # JSON is YAML
    _, connect = run_all_over_connect(config, tmp_path)
    assert connect["rows"] == classic["rows"]
    assert set(connect["steps"]) == set(classic["steps"]) == set(STEPS)
    for step, key in (("index", "index_version"), ("build", "pipeline_digest")):
        assert connect["steps"][step][key] == classic["steps"][step][key]
    assert connect["evaluation"] == classic["evaluation"]
    assert connect["evaluation"]["status"] == "PASSED"
    assert connect["champion_version"] == classic["champion_version"] == 1


def test_an_edited_file_is_the_only_document_embedded_again(tmp_path, monkeypatch):
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in {
        "a.md": "# Alpha\nAlpha text.",
        "b.md": "# Beta\nBeta text.",
        "c.txt": "Gamma\nGamma text.",
    }.items():
        (folder / name).write_text(text, encoding="utf-8")
    source = {"kind": "files", "path": str(folder)}
    ctx = Context(slice_settings(seeded(tmp_path / "state"), source=source))
    with pytest.raises(MissingTableError, match="does not exist: run ingest-documents first"):
        index.run(ctx)
    ingest_documents.run(ctx)
    first = index.run(ctx)
    assert (first["documents"], first["documents_embedded"]) == (3, 3)
    register_prompt.run(ctx)
    assert build.run(ctx)["model_version"] == 1

    (folder / "b.md").write_text("# Beta\nBeta text, revised.", encoding="utf-8")
    (folder / "c.txt").unlink()
    changed = ingest_documents.run(ctx)
    assert (changed["documents"], changed["new_or_changed"], changed["removed"]) == (2, 1, 1)
    second = index.run(ctx)
    assert (second["documents_embedded"], second["documents_removed"]) == (1, 1)
    assert second["chunks"] == 2 and second["index_version"] != first["index_version"]

    # The new index makes a new model version; version 1 keeps the chunks it was built
    # on (a snapshot inside the model), so rolling back to it brings them back.
    rebuilt = build.run(ctx)
    assert (rebuilt["model_version"], rebuilt["index_version"]) == (2, second["index_version"])
    name = ctx.settings.model_name
    old, new = (load_pipeline(name, v).answer("Beta text?") for v in ("1", "2"))
    assert (old["sources"], new["sources"]) == (["b.md", "a.md", "c.txt"], ["b.md", "a.md"])
    assert "revised" in new["answer"] and "revised" not in old["answer"]

    # Other chunking settings, or another chunking rule, re-chunk every document, the
    # unchanged one too: no chunk of the old rule stays beside the new rule's.
    smaller = Context(replace(ctx.settings, chunking={"size": 12, "overlap": 0}))
    resized = index.run(smaller)
    assert (resized["documents_embedded"], resized["chunks"]) == (2, 5)
    monkeypatch.setattr(embedding, "SPLITTER", "another rule")
    resplit = index.run(smaller)
    assert resplit["documents_embedded"] == 2
    assert resplit["index_version"] != resized["index_version"]


def test_the_vector_search_source_table_has_change_data_feed(tmp_path, indexed):
    """A Delta Sync index reads its source table's change data feed: with
    ``databricks_endpoint`` the index step switches it on for the chunk table, the
    source it hands to the index (the slice's document table; a fake workspace), once."""
    embedding = load_rag_settings("staging").embedding
    ctx = fresh_context(tmp_path, indexed, shared=["documents_bronze"], embedding=embedding)
    workspace = SimpleNamespace(vector_search_indexes=FakeIndexes(exists=False))
    result = index.run(ctx, workspace)
    table = ctx.settings.table("chunks")
    assert result["vector_search"]["action"] == "created"
    created = workspace.vector_search_indexes.created
    assert created.delta_sync_index_spec.source_table == table
    properties = ctx.tables.delta(table).detail().first()["properties"]
    assert properties["delta.enableChangeDataFeed"] == "true"

    # A rerun on the same documents syncs the index and writes no new table version.
    version = ctx.tables.version(table)
    again = index.run(ctx, workspace)
    assert (again["documents_embedded"], again["vector_search"]["action"]) == (0, "synced")
    assert ctx.tables.version(table) == version

    # Another embedding endpoint: a sync would keep the one the index was created with,
    # so the step stops, naming the setting, before it re-embeds or writes anything.
    other = {**embedding, "endpoint": "other-embedding-endpoint"}
    moved = Context(replace(ctx.settings, embedding=other))
    calls = len(workspace.vector_search_indexes.calls)
    with pytest.raises(ValueError) as stopped:
        index.run(moved, workspace)
    assert str(stopped.value).startswith(
        "embedding.endpoint: 'other-embedding-endpoint', but the Vector Search index "
        f"{vector_search.index_name(moved.settings)} was created with "
        f"{embedding['endpoint']!r}: delete the index"
    )
    assert ctx.tables.version(table) == version
    assert [call[0] for call in workspace.vector_search_indexes.calls[calls:]] == ["get"]


def test_a_table_source_is_ingested_and_a_new_title_or_source_alone_is_not_written(tmp_path):
    """A table source's rows are the document table's; README: the document table is
    replaced when a document's text is new or changed; an unchanged source, or a new title
    or source alone, writes nothing, and unchanged documents keep loaded_at."""
    source = {"kind": "table", "table": "default.rag_retitled_documents"}
    ctx = Context(slice_settings(tmp_path / "state", source=source))
    schema = "doc_id string, title string, text string, source string"

    def ingest(rows) -> dict:
        frame = ctx.spark.createDataFrame(rows, schema)
        frame.write.format("delta").mode("overwrite").saveAsTable(source["table"])
        return ingest_documents.run(ctx)

    rows = [("guide.a", "Alpha", "Alpha text.", "wiki"), ("guide.b", "Beta", "Beta text.", "wiki")]
    ingested = ingest(rows)
    assert (ingested["documents"], ingested["new_or_changed"]) == (2, 2)
    documents = ctx.settings.table("documents_bronze")
    bronze = ctx.tables.read(documents).orderBy("doc_id").collect()
    assert [(r.doc_id, r.title, r.text) for r in bronze] == [r[:3] for r in rows]
    version = ctx.tables.version(documents)

    def loaded() -> dict:
        return {r.doc_id: r.loaded_at for r in ctx.tables.read(documents).collect()}

    first = loaded()
    assert ingest(rows)["new_or_changed"] == 0  # unchanged
    assert ctx.tables.version(documents) == version
    retitled = [("guide.a", "Alpha, retitled", "Alpha text.", "handbook"), rows[1]]
    assert ingest(retitled)["new_or_changed"] == 0
    assert loaded() == first
    assert ctx.tables.version(documents) == version
    bronze = ctx.tables.read(documents).where("doc_id = 'guide.a'").first()
    assert (bronze.title, bronze.source) == ("Alpha", "wiki")  # the text decides a write
    # A new text for guide.b is written; the unchanged guide.a keeps its loaded_at.
    edited = [retitled[0], ("guide.b", "Beta", "Beta text, edited.", "wiki")]
    assert ingest(edited)["new_or_changed"] == 1
    assert ctx.tables.version(documents) == version + 1
    after = loaded()
    assert after["guide.a"] == first["guide.a"] and after["guide.b"] > first["guide.b"]


def test_a_table_source_with_a_null_or_a_missing_table_stops_before_any_write(
    tmp_path, monkeypatch, capsys
):
    # A NULL is not ingested as the text "None": the step stops with one line naming the
    # source, the column and the rule, and the document table stays as it was.
    source = {"kind": "table", "table": "default.rag_null_documents"}
    ctx = Context(slice_settings(tmp_path / "state", source=source))
    documents = ctx.settings.table("documents_bronze")
    schema = "doc_id string, title string, text string, source string"
    good = [("guide.a", "Alpha", "Alpha text.", "wiki")]

    def refused(rows) -> str:
        frame = ctx.spark.createDataFrame(good + rows, schema)
        frame.write.format("delta").mode("overwrite").saveAsTable(source["table"])
        with pytest.raises(ValueError) as error:
            ingest_documents.run(ctx)
        return str(error.value)

    prefix = "source.table default.rag_null_documents: column"
    assert refused([("guide.b", "Beta", None, "wiki")]) == (
        f"{prefix} text must not be NULL (1 row(s), doc_id guide.b)"
    )
    assert refused([(None, "Beta", "Beta text.", "wiki")]) == (
        f"{prefix} doc_id must not be NULL (1 row(s))"
    )
    assert not ctx.tables.exists(documents)
    ctx.spark.createDataFrame(good, schema).write.format("delta").mode("overwrite").saveAsTable(
        source["table"]
    )
    assert ingest_documents.run(ctx)["documents"] == 1
    version = ctx.tables.version(documents)
    assert refused([("guide.b", "Beta", None, "wiki")]).startswith(f"{prefix} text must not")
    assert ctx.tables.version(documents) == version

    # A missing source table: the console script's one line, not Spark's stack trace.
    missing = replace(ctx.settings, source={**source, "table": "default.rag_no_such_documents"})
    monkeypatch.setattr(entry, "load_rag_settings", lambda env, config: missing)
    capsys.readouterr()
    assert ingest_documents_entry(["--env", "local"]) == 1
    assert capsys.readouterr().err == (
        "error: source.table default.rag_no_such_documents: no such table (or not visible to "
        "this principal)\n"
    )
    assert ctx.tables.version(documents) == version


def test_every_session_a_step_gets_is_utc(ctx):
    """docs/deployment.md: every step sets the session's time zone to UTC (the check:
    tests/time_zone_checks.py)."""
    check_sessions_get_utc(ctx.spark, ctx.settings)
