"""Monitoring from traces and feedback: out-of-corpus questions raise the out-of-domain alarm."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from {{ cookiecutter.package_name }}.cli import monitor as monitor_entry
from {{ cookiecutter.package_name }}.config import LOCAL_ROOT_VAR
from {{ cookiecutter.package_name }}.rag.eval_set import load_eval_set
from {{ cookiecutter.package_name }}.rag.serving import record_feedback
from {{ cookiecutter.package_name }}.rag.steps import ask, build, deploy, evaluate, monitor, register_prompt
from {{ cookiecutter.package_name }}.runtime.context import Context

from .conftest import SLICE

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
    assert served.tables.count(served.settings.table("feedback")) == 2

    ask.run(served, OUT_OF_CORPUS)
    loud = monitor.run(served)
    assert loud["answers"] == len(in_domain) + len(OUT_OF_CORPUS)
    # one of the two rated answers is rated down: 0.5 > max_negative_feedback_share 0.3
    assert [a.split()[0] for a in loud["alarms"]] == [
        "out_of_domain_rate",
        "negative_feedback_share",
    ]
    (day,) = loud["days"]
    assert day["negative_feedback_share"] == 0.5 and day["rated"] == 2
    assert served.tables.count(served.settings.table("monitoring_metrics")) == 1


def test_monitor_fails_on_alarm_only_when_asked(served, monkeypatch, capsys):
    ask.run(served, OUT_OF_CORPUS)
    monkeypatch.setenv(LOCAL_ROOT_VAR, str(served.settings.local_root))
    assert monitor_entry(["--env", "local"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out[out.index("{") :])["alarms"][0].startswith("out_of_domain_rate")
    assert monitor_entry(["--env", "local", "--fail-on-alarm"]) == 2


def test_feedback_refuses_an_unknown_rating_before_writing(served):
    with pytest.raises(ValueError, match="rating: 'meh' must be one of up, down"):
        record_feedback(served, "tr-1", "meh", "reviewer")
    assert not served.tables.exists(served.settings.table("feedback"))
