"""Monitoring from traces and feedback: out-of-corpus questions raise the out-of-domain alarm."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import mlflow
import pytest
from mlflow.tracing.client import TracingClient

from {{ cookiecutter.package_name }} import cli
from {{ cookiecutter.package_name }}.cli import monitor as monitor_entry
from {{ cookiecutter.package_name }}.rag.eval_set import load_eval_set
from {{ cookiecutter.package_name }}.rag.generation import ExtractiveGenerator
from {{ cookiecutter.package_name }}.rag.pipeline import QAPipeline
from {{ cookiecutter.package_name }}.rag.prompts import prompt_text
from {{ cookiecutter.package_name }}.rag.retrieval import VectorSearchRetriever
from {{ cookiecutter.package_name }}.rag.serving import ask as ask_traced
from {{ cookiecutter.package_name }}.rag.serving import record_feedback
from {{ cookiecutter.package_name }}.rag.settings import load_rag_settings
from {{ cookiecutter.package_name }}.rag.steps import (
    ask,
    build,
    deploy,
    evaluate,
    monitor,
    register_prompt,
)
from {{ cookiecutter.package_name }}.runtime.context import Context
from {{ cookiecutter.package_name }}.settings_file import LOCAL_ROOT_VAR, ConfigError

from ..json_checks import strict_json
from .conftest import SLICE, FakeIndexes

OUT_OF_CORPUS = [
    "What is the capital of France?",
    "How do I bake sourdough bread at home?",
    "Who won the football world cup in 2014?",
    "How many moons does Jupiter have?",
    "Which actor played the lead in the movie Titanic?",
    "What is a good recipe for tomato soup?",
]


@pytest.fixture
def served(ctx):
    """A champion (evaluation disabled: this test is about monitoring) on a fresh store."""
    served = Context(
        replace(ctx.settings, evaluation={**ctx.settings.evaluation, "mode": "disabled"})
    )
    register_prompt.run(served)
    build.run(served)
    evaluate.run(served)
    assert deploy.run(served)["champion_version"] == 1
    return served


def test_out_of_corpus_questions_raise_the_alarm_in_domain_ones_do_not(served):
    in_domain = [
        item["question"]
        for item in load_eval_set()
        if all(s.split(".")[0] in SLICE for s in item["expected_sources"])
    ][:8]
    answers = ask.run(served, in_domain)["answers"]
    quiet = monitor.run(served)
    assert quiet["answers"] == len(in_domain)
    assert quiet["alarms"] == []
    (day,) = quiet["days"]
    assert day["out_of_domain_rate"] <= served.settings.monitoring["max_out_of_domain_rate"]
    assert 0 < day["latency_p50_ms"] <= day["latency_p95_ms"]

    record_feedback(served, answers[0]["trace_id"], "down", "reviewer", "too long")
    record_feedback(served, answers[0]["trace_id"], "down", "reviewer", "still too long")
    record_feedback(served, answers[1]["trace_id"], "up", "reviewer")
    record_feedback(served, answers[1]["trace_id"], "down", "second reviewer")
    assert served.tables.count(served.settings.table("feedback")) == 3

    asked = answers + ask.run(served, OUT_OF_CORPUS)["answers"]
    loud = monitor.run(served)
    assert loud["answers"] == len(asked) == len(in_domain) + len(OUT_OF_CORPUS)
    # two of the three ratings are down: 0.67 > max_negative_feedback_share 0.3
    rate, share = loud["alarms"]
    (day,) = loud["days"]
    assert day["rated"] == 3 and day["negative_feedback_share"] == pytest.approx(2 / 3)
    assert share == "negative_feedback_share 0.67 > max_negative_feedback_share 0.3"
    # Each answer counts once, however many ratings it has: the day's out-of-domain rate
    # is the share of the answers ask returned, and the window alarm reads the same.
    threshold = served.settings.monitoring["out_of_domain_score"]
    out = sum(a["best_score"] < threshold for a in asked) / len(asked)
    assert day["out_of_domain_rate"] == pytest.approx(out) and out > 0.3
    assert rate == f"out_of_domain_rate {out:.2f} > max_out_of_domain_rate 0.3"
    assert served.tables.count(served.settings.table("monitoring_metrics")) == 1


def test_a_null_out_of_domain_score_writes_a_null_rate_and_raises_no_alarm_for_it(served):
    """As in the Databricks environments, where the scores' scale is not known yet."""
    assert load_rag_settings("staging").monitoring["out_of_domain_score"] is None
    asked = ask.run(served, OUT_OF_CORPUS)["answers"]
    threshold = served.settings.monitoring["out_of_domain_score"]
    assert all(a["best_score"] < threshold for a in asked)  # all out of domain locally
    limits = {**served.settings.monitoring, "out_of_domain_score": None}
    result = monitor.run(Context(replace(served.settings, monitoring=limits)))
    assert (result["alarms"], result["out_of_domain_score"]) == ([], None)
    (day,) = result["days"]
    assert day["answers"] == len(OUT_OF_CORPUS) and day["out_of_domain_rate"] is None
    (row,) = served.tables.read(served.settings.table("monitoring_metrics")).collect()
    assert row.out_of_domain_rate is None and row.answers == len(OUT_OF_CORPUS)


def test_monitor_fails_on_alarm_only_when_asked(served, monkeypatch, capsys):
    ask.run(served, OUT_OF_CORPUS)
    monkeypatch.setenv(LOCAL_ROOT_VAR, str(served.settings.local_root))
    assert monitor_entry(["--env", "local"]) == 0
    out = capsys.readouterr().out  # the whole of stdout is the one JSON document
    assert strict_json(out)["alarms"][0].startswith("out_of_domain_rate")
    assert monitor_entry(["--env", "local", "--fail-on-alarm"]) == 2


def test_the_ask_and_feedback_commands_answer_and_record_a_rating(served, monkeypatch, capsys):
    monkeypatch.setenv(LOCAL_ROOT_VAR, str(served.settings.local_root))
    # A slow tracking store: MLflow stores each trace a second late, in the background.
    store_trace = TracingClient.start_trace

    def slow_start_trace(self, trace_info):
        time.sleep(1)
        return store_trace(self, trace_info)

    monkeypatch.setattr(TracingClient, "start_trace", slow_start_trace)
    question = "How do I parse a JSON string into a Python object?"
    assert cli.ask(["--env", "local", question, OUT_OF_CORPUS[0]]) == 0
    out = capsys.readouterr().out
    answers = strict_json(out)["answers"]
    assert len(answers) == 2
    assert answers[0]["sources"][0].split(".")[0] == "json"
    assert answers[0]["citations"] and answers[1]["best_score"] < answers[0]["best_score"]
    trace_id = answers[0]["trace_id"]
    trace = mlflow.get_trace(trace_id)  # stored before ask returned
    assert trace.info.tags["channel"] == "ask"

    rate = ["--env", "local", "--trace-id", trace_id, "--user", "cli user"]
    assert cli.feedback([*rate, "--rating", "down", "--comment", "too long"]) == 0
    out = capsys.readouterr().out
    recorded = strict_json(out)
    assert (recorded["rating"], recorded["logged"]) == ("down", True)
    with pytest.raises(SystemExit) as refused:  # argparse: not one of up, down
        cli.feedback([*rate, "--rating", "meh"])
    assert refused.value.code == 2
    assert "invalid choice: 'meh'" in capsys.readouterr().err
    rows = served.tables.read(served.settings.table("feedback")).collect()
    assert [(r["trace_id"], r["user"], r["rating"], r["comment"]) for r in rows] == [
        (trace_id, "cli user", "down", "too long")
    ]
    assert cli.ask(["--env", "local", " "]) == 1  # no question: one line, exit status 1
    assert "question: give at least one non-empty question" in capsys.readouterr().err


def test_feedback_refuses_an_unknown_rating_or_a_blank_user_before_writing(served):
    with pytest.raises(ValueError, match="rating: 'meh' must be one of up, down"):
        record_feedback(served, "tr-1", "meh", "reviewer")
    with pytest.raises(ValueError, match="^user: must not be empty$"):
        record_feedback(served, "tr-1", "up", " ")
    assert not served.tables.exists(served.settings.table("feedback"))


def _metrics(ctx) -> list[tuple]:
    table = ctx.settings.table("monitoring_metrics")
    if not ctx.tables.exists(table):
        return []
    return sorted(tuple(row) for row in ctx.tables.read(table).collect())


def test_a_missing_or_mistyped_limit_writes_no_metrics(served):
    questions = [item["question"] for item in load_eval_set()][:3]
    ask.run(served, questions)
    limits = served.settings.monitoring
    missing = {k: v for k, v in limits.items() if k != "max_latency_p95_ms"}
    mistyped = {**limits, "max_out_of_domain_rate": "0.3"}
    bad = [
        (missing, "monitoring.max_latency_p95_ms: Field required"),
        (mistyped, "monitoring.max_out_of_domain_rate: Input should be a valid number"),
    ]
    for monitoring, message in bad:  # no metrics table yet
        broken = Context(replace(served.settings, monitoring=monitoring))
        with pytest.raises(ConfigError, match=message):
            monitor.run(broken)
        assert _metrics(served) == []
    assert monitor.run(served)["metrics_written"] == 1
    before = _metrics(served)
    for monitoring, message in bad:  # with a metrics row written
        broken = Context(replace(served.settings, monitoring=monitoring))
        with pytest.raises(ConfigError, match=message):
            monitor.run(broken)
        assert _metrics(served) == before


def test_p95_latency_alarm_above_the_limit_only_and_the_window_ends_with_nows_day(served):
    questions = [item["question"] for item in load_eval_set()][:5]
    ask.run(served, questions)
    earlier = monitor.run(served, now=datetime(2025, 1, 1, tzinfo=UTC))
    assert (earlier["answers"], earlier["days"]) == (0, [])  # the answers came after that day
    with pytest.raises(ValueError, match="now: must be timezone-aware"):
        monitor.run(served, now=datetime.now())
    (day,) = monitor.run(served)["days"]
    p95 = day["latency_p95_ms"]
    assert p95 > 0

    def latency_alarms(limit: float) -> list[str]:
        limits = {**served.settings.monitoring, "max_latency_p95_ms": limit}
        found = monitor.run(Context(replace(served.settings, monitoring=limits)))["alarms"]
        return [a for a in found if a.startswith("latency_p95_ms")]

    assert latency_alarms(p95 * 2) == []
    (alarm,) = latency_alarms(p95 / 2)
    assert alarm == f"latency_p95_ms {p95:.0f} > max_latency_p95_ms {p95 / 2:g}"


def _ratings(trace_id: str) -> list:
    """The ``user_rating`` assessments on the trace: (assessment_id, value, valid)."""
    assessments = mlflow.get_trace(trace_id).info.assessments
    return [(a.assessment_id, a.value, a.valid) for a in assessments if a.name == "user_rating"]


def test_feedback_whose_table_write_failed_is_kept_once_on_retry(served, monkeypatch):
    (answer,) = ask.run(served, ["How do I parse a JSON string?"])["answers"]
    trace_id = answer["trace_id"]
    table = served.settings.table("feedback")

    def rows() -> list[tuple]:
        frame = served.tables.read(table).select("trace_id", "user", "rating", "assessment_id")
        return sorted(tuple(row) for row in frame.collect())

    def broken_upsert(self, *args, **kwargs):
        raise RuntimeError("injected: Delta write failed")

    with monkeypatch.context() as patch:
        patch.setattr(type(served.tables), "upsert", broken_upsert)
        with pytest.raises(RuntimeError, match="injected"):
            record_feedback(served, trace_id, "down", "reviewer", "wrong module")
    assert not served.tables.exists(table)
    ((logged_id, value, valid),) = _ratings(trace_id)  # in MLflow: nothing lost
    assert value is False and valid is not False

    retried = record_feedback(served, trace_id, "down", "reviewer", "wrong module")
    again = record_feedback(served, trace_id, "down", "reviewer", "wrong module")
    padded = record_feedback(served, trace_id, "down", " reviewer ", "wrong module")
    assert (retried["logged"], again["logged"], padded["logged"]) == (False, False, False)
    assert retried["assessment_id"] == again["assessment_id"] == padded["assessment_id"]
    assert padded["assessment_id"] == logged_id and padded["user"] == "reviewer"
    assert _ratings(trace_id) == [(logged_id, False, valid)]
    assert rows() == [(trace_id, "reviewer", "down", logged_id)]

    changed = record_feedback(served, trace_id, "up", "reviewer")
    assert changed["logged"] is True and changed["assessment_id"] != logged_id
    current = [(i, v) for i, v, ok in _ratings(trace_id) if ok is not False]
    assert current == [(changed["assessment_id"], True)]
    assert rows() == [(trace_id, "reviewer", "up", changed["assessment_id"])]


def test_feedback_on_an_unknown_trace_writes_nothing(served, caplog, monkeypatch):
    # MLflow's logger does not propagate to the root logger caplog listens on: let it, here.
    monkeypatch.setattr(logging.getLogger("mlflow"), "propagate", True)
    with pytest.raises(LookupError, match="trace_id: no trace 'tr-unknown'"):
        record_feedback(served, "tr-unknown", "up", "reviewer")
    assert not served.tables.exists(served.settings.table("feedback"))
    # The one-line error is all the user sees: MLflow logs no warning of its own.
    logged = [r for r in caplog.records if r.name.startswith("mlflow")]
    assert [r.getMessage() for r in logged if r.levelno >= logging.WARNING] == []


class DownIndexes(FakeIndexes):
    """Vector Search whose endpoint is down after ``up_for`` queries (0: from the first)."""

    def __init__(self, exists: bool, up_for: int = 0):
        super().__init__(exists)
        self.up_for = up_for

    def query_index(self, name, columns, query_text, num_results):
        if sum(call[0] == "query" for call in self.calls) >= self.up_for:
            raise RuntimeError("injected: Vector Search endpoint unavailable")
        return super().query_index(name, columns, query_text, num_results)


def vector_search_pipeline(indexes: FakeIndexes) -> QAPipeline:
    """The QA pipeline with the packaged prompt, retrieving from (fake) Vector Search: no Spark."""
    workspace = SimpleNamespace(vector_search_indexes=indexes)
    return QAPipeline(
        retriever=VectorSearchRetriever(workspace, "main.doc_qa.chunks_index"),
        template=prompt_text(),
        generator=ExtractiveGenerator(),
        k=1,
        info={},
    )


def test_a_question_that_raised_is_no_answer_to_monitor(store_ctx):
    # No Spark: the ask traces alone.
    store_ctx.mlflow()
    answer = ask_traced(
        vector_search_pipeline(FakeIndexes(exists=True)), "What does json.dumps do?"
    )
    with pytest.raises(RuntimeError, match="injected"):
        ask_traced(vector_search_pipeline(DownIndexes(exists=True)), "What does json.loads return?")
    mlflow.flush_trace_async_logging()
    now = datetime.now(UTC)
    rows = monitor.answered(store_ctx, monitor.window_start(now, 1), now + timedelta(days=1))
    # Only the answer: the failed question's trace (ERROR, no retrieval score) would count
    # as an out-of-domain answer and add its time to the latency.
    assert rows.trace_id.tolist() == [answer["trace_id"]]
    assert rows.best_score.tolist() == [answer["best_score"]] == [0.9]


def test_feedback_on_a_trace_that_is_no_answer_of_ask_is_refused_before_writing(store_ctx):
    # No Spark: the refusal comes before the feedback table. Monitoring counts only ask's
    # answers, so a rating of an evaluation trace or of a question that raised would be kept
    # in MLflow and the table and counted nowhere.
    store_ctx.mlflow()

    @mlflow.trace(name="evaluate")
    def evaluated(question: str) -> dict:
        return {"answer": question}

    evaluated("What does json.dumps do?")
    evaluation = mlflow.get_last_active_trace_id()
    with pytest.raises(RuntimeError, match="injected"):
        ask_traced(vector_search_pipeline(DownIndexes(exists=True)), "What does json.loads return?")
    raised = mlflow.get_last_active_trace_id()
    assert raised != evaluation
    for trace_id in (evaluation, raised):
        with pytest.raises(ValueError, match=rf"^trace_id: trace '{trace_id}' is no answer of ask"):
            record_feedback(store_ctx, trace_id, "down", "reviewer")
        assert mlflow.get_trace(trace_id).info.assessments == []
    assert not store_ctx.tables.exists(store_ctx.settings.table("feedback"))


def test_an_empty_question_among_others_is_refused_before_any_is_asked(store_ctx):
    # Dropped, it would shift every later answer onto the question before it.
    store_ctx.mlflow()
    questions = ["What does json.dumps do?", " ", "What does json.loads return?"]
    with pytest.raises(ValueError) as refused:
        ask.run(store_ctx, questions)
    assert str(refused.value) == "question 2: must not be empty (answers follow the order)"


def test_a_failing_question_prints_the_answers_given_before_it(store_ctx, monkeypatch, capsys):
    # Lost, they would be asked again by a rerun, and monitoring would count them twice.
    monkeypatch.setenv(LOCAL_ROOT_VAR, str(store_ctx.settings.local_root))
    down_after_one = vector_search_pipeline(DownIndexes(exists=True, up_for=1))
    monkeypatch.setattr(ask, "champion_pipeline", lambda settings: down_after_one)
    questions = ["What does json.dumps do?", "What does json.loads return?", "What is heapq?"]
    assert cli.ask(["--env", "local", *questions]) == 1
    out, err = capsys.readouterr()
    printed = strict_json(out)
    assert err == "error: injected: Vector Search endpoint unavailable\n"
    assert printed["unanswered"] == questions[1:]
    (answer,) = printed["answers"]
    assert (answer["sources"], answer["best_score"]) == (["json.dumps"], 0.9)
    now = datetime.now(UTC)
    rows = monitor.answered(store_ctx, monitor.window_start(now, 1), now + timedelta(days=1))
    assert rows.trace_id.tolist() == [answer["trace_id"]]  # stored before ask returned
