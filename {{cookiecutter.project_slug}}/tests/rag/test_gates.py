"""The evaluation gate: broken candidates are refused, the real one is promoted."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path

import mlflow
import pytest
from mlflow.genai.scorers import scorer

from {{ cookiecutter.package_name }} import cli
from {{ cookiecutter.package_name }}.rag import entry
from {{ cookiecutter.package_name }}.rag.eval_set import as_eval_data, load_eval_set
from {{ cookiecutter.package_name }}.rag.pipeline import CITATION
from {{ cookiecutter.package_name }}.rag.prompts import prompt_by_alias, prompt_text
from {{ cookiecutter.package_name }}.rag.steps import (
    ask,
    build,
    deploy,
    evaluate,
    register_prompt,
    rollback,
)
from {{ cookiecutter.package_name }}.registry import version_by_alias
from {{ cookiecutter.package_name }}.runtime.context import Context
from {{ cookiecutter.package_name }}.runtime.tracking import client

from ..json_checks import strict_json

CONTEXT_LINE = re.compile(r"^.*\{\{\s*context\s*\}\}.*\n", re.MULTILINE)


def _candidate(ctx):
    built = build.run(ctx)
    verdict = evaluate.run(ctx)
    assert verdict["model_version"] == built["model_version"]
    return verdict, deploy.run(ctx)


def test_gate_refuses_a_prompt_without_context_and_a_random_retriever(ctx, capsys):
    # The real candidate, on an empty registry: passes the absolute gates, becomes champion.
    register_prompt.run(ctx)
    real, promoted = _candidate(ctx)
    assert real["status"] == "PASSED" and real["champion_version"] is None
    assert promoted["champion_version"] == 1 and promoted["prompt_champion_version"] == 1

    # A prompt that drops the retrieved context: nothing to answer or cite from.
    no_context = CONTEXT_LINE.sub("", prompt_text())
    assert "context" not in no_context.split("excerpts:")[-1]
    assert register_prompt.run(ctx, text=no_context)["version"] == 2
    blind, kept = _candidate(ctx)
    assert blind["status"] == "FAILED" and blind["champion_version"] == 1
    assert blind["metrics"]["fact_recall"] == 0.0
    assert blind["metrics"]["cites_retrieved_source"] == 0.0
    assert any(r.startswith("fact_recall") for r in blind["reasons"])
    assert kept["promoted"] is False and kept["champion_version"] == 1
    assert prompt_by_alias(ctx.settings.prompt_name, "champion").version == 1
    # The evaluation run's MLflow means and traces are the candidate's (0 fact recall);
    # the champion's scoring is in its nested run, so it overwrites none of them.
    run = client().get_run(blind["run_id"])
    assert run.data.metrics["fact_recall/mean"] == blind["metrics"]["fact_recall"]
    assert run.data.metrics["champion_fact_recall"] == real["metrics"]["fact_recall"] > 0
    traces = mlflow.search_traces(run_id=run.info.run_id, include_spans=False)
    assert len(traces) == blind["questions"]
    (nested,) = client().search_runs(
        [run.info.experiment_id], f"tags.mlflow.parentRunId = '{run.info.run_id}'"
    )
    assert nested.info.run_name == "champion-v1"
    assert nested.data.metrics["fact_recall/mean"] == real["metrics"]["fact_recall"]

    # The real prompt again (a new version: never a silent overwrite), random retrieval.
    assert register_prompt.run(ctx)["version"] == 3
    random_ctx = Context(replace(ctx.settings, retrieval={"kind": "random", "k": 5}))
    drawn, kept = _candidate(random_ctx)
    assert drawn["status"] == "FAILED"
    assert drawn["metrics"]["retrieval_hit"] < real["metrics"]["retrieval_hit"] / 2
    assert any(r.startswith("retrieval_hit") for r in drawn["reasons"])
    assert kept["champion_version"] == 1

    with capsys.disabled():
        print(
            "\nscores: real",
            real["metrics"],
            "\n  no context",
            blind["metrics"],
            "\n  random retriever",
            drawn["metrics"],
        )


def test_dry_run_records_the_failure_but_lets_it_pass(ctx, capsys, monkeypatch):
    settings = ctx.settings
    strict = {**settings.evaluation, "mode": "dry_run", "min_fact_recall": 1.0}
    dry = Context(replace(settings, evaluation=strict))
    register_prompt.run(dry)
    built = build.run(dry)
    capsys.readouterr()
    verdict = evaluate.run(dry)
    assert verdict["model_version"] == built["model_version"]
    # MLflow's evaluation banner goes to stderr: the step's JSON is alone on stdout.
    printed = capsys.readouterr()
    assert printed.out == "" and "Evaluation completed" in printed.err
    deployed = deploy.run(dry)
    assert verdict["status"] == "PASSED" and verdict["gate_result"] == "FAILED"
    assert verdict["reasons"][0].startswith("fact_recall")
    assert deployed["champion_version"] == 1

    # The verdict is tagged on the model version, and on the evaluation run.
    tags = client().get_model_version(settings.model_name, "1").tags
    assert {key for key in tags if key.startswith("validation_")} == {
        "validation_status",
        "validation_gate_result",
        "validation_mode",
        "validation_reasons",
        "validation_run_id",
        "validation_champion_version",
        "validation_retrieval_hit",
        "validation_fact_recall",
        "validation_cites_retrieved_source",
    }
    assert tags["validation_status"] == "PASSED"
    assert tags["validation_gate_result"] == "FAILED"
    assert tags["validation_mode"] == "dry_run"
    reason = re.fullmatch(
        r"fact_recall (0\.\d{3}) < min_fact_recall 1\.0", tags["validation_reasons"]
    )
    assert reason is not None, tags["validation_reasons"]
    assert float(reason[1]) == pytest.approx(verdict["metrics"]["fact_recall"], abs=5e-4)
    assert tags["validation_champion_version"] == "none"
    assert tags["validation_run_id"] == verdict["run_id"]
    assert float(tags["validation_fact_recall"]) == pytest.approx(
        verdict["metrics"]["fact_recall"], rel=1e-5
    )
    assert verdict["metrics"]["fact_recall"] < 1.0
    run = client().get_run(verdict["run_id"])
    assert run.data.tags["validation_gate_result"] == "FAILED"
    assert run.data.metrics["fact_recall"] == verdict["metrics"]["fact_recall"]

    # A rerun on the same version, evaluation set and settings reuses that run: the same
    # verdict, and no new run or trace.
    experiment = [run.info.experiment_id]

    def made() -> tuple[int, int]:
        """How many runs and traces the experiment holds."""
        traces = mlflow.search_traces(locations=experiment, include_spans=False)
        return len(client().search_runs(experiment)), len(traces)

    runs, traces = made()
    again = evaluate.run(dry)
    assert made() == (runs, traces) and traces >= verdict["questions"]
    assert (verdict["reused"], again) == (False, {**verdict, "reused": True})
    assert client().get_model_version(settings.model_name, "1").tags == tags
    # A changed evaluation set (two of its questions) is evaluated again.
    chunks = ctx.tables.read(settings.table("chunks")).select("doc_id").distinct().collect()
    indexed = {row.doc_id for row in chunks}
    two = [item for item in load_eval_set() if as_eval_data([item], indexed)][:2]
    monkeypatch.setattr(evaluate, "load_eval_set", lambda: two)
    fewer = evaluate.run(dry)
    assert (fewer["reused"], fewer["questions"]) == (False, 2)
    assert fewer["run_id"] != verdict["run_id"] and made() == (runs + 1, traces + 2)
    # Another version of this package's code (an upgrade: the generator, the scorers or
    # the gate fixed, say) evaluates the same inputs anew.
    monkeypatch.setattr(evaluate, "source_digest", lambda: "the code after an upgrade")
    upgraded = evaluate.run(dry)
    assert upgraded["reused"] is False and made() == (runs + 2, traces + 4)
    # Its run deleted (as README.md says, to force a fresh evaluation), the rerun
    # evaluates anew, and its own run is reused after it.
    client().delete_run(upgraded["run_id"])
    fresh = evaluate.run(dry)
    assert fresh["reused"] is False and fresh["run_id"] != upgraded["run_id"]
    assert evaluate.run(dry) == {**fresh, "reused": True}
    # A judge whose endpoint failed leaves the run unreused (a rerun is its retry), though
    # the judges gate nothing: the verdict is the same.
    with_judge = judged(replace(settings, evaluation=strict), unreachable_judge, monkeypatch)
    first = evaluate.run(with_judge)
    retry = evaluate.run(with_judge)
    assert (first["reused"], retry["reused"]) == (False, False)
    assert retry["run_id"] != first["run_id"] and retry["reasons"] == fresh["reasons"]
    # Both questions of the edited set went unjudged: the result, the run's metric and its
    # evaluation.json say how many (without a judge there is no count).
    assert fresh["unjudged"] is None and "unjudged_questions" not in run_metrics(fresh)
    assert first["unjudged"] == retry["unjudged"] == first["questions"] == 2
    assert run_metrics(first)["unjudged_questions"] == 2
    assert first["champion_unjudged"] is None  # v1 is the champion: no other one to score
    logged = f"runs:/{first['run_id']}/{evaluate.RESULT_FILE}"
    recorded = mlflow.artifacts.load_dict(logged)["result"]
    assert (recorded["run_id"], recorded["unjudged"]) == (first["run_id"], 2)
    monkeypatch.undo()

    # Evaluated again, with evaluation disabled: no metric of the first verdict stays.
    off = Context(replace(settings, evaluation={**settings.evaluation, "mode": "disabled"}))
    again = evaluate.run(off, version=1)
    tags = client().get_model_version(settings.model_name, "1").tags
    assert {key: value for key, value in tags.items() if key.startswith("validation_")} == {
        "validation_status": "PASSED",
        "validation_gate_result": "SKIPPED",
        "validation_mode": "disabled",
        "validation_reasons": "none",
        "validation_run_id": again["run_id"],
        "validation_champion_version": "none",
    }


def test_a_rejection_fails_evaluate_and_stops_run_all_only_when_asked(
    ctx, monkeypatch, tmp_path, capsys
):
    settings = ctx.settings
    unreachable = {**settings.evaluation, "min_fact_recall": 1.0}
    lenient = Context(replace(settings, evaluation=unreachable))
    strict = Context(replace(settings, evaluation={**unreachable, "fail_on_rejection": True}))
    register_prompt.run(ctx)
    build.run(ctx)

    # Without fail_on_rejection the refused candidate leaves the exit status 0.
    monkeypatch.setattr(entry, "context", lambda args: lenient)
    assert cli.evaluate([]) == 0
    printed = strict_json(capsys.readouterr().out)  # the verdict alone on stdout
    assert printed["status"] == "FAILED" and printed["reasons"][0].startswith("fact_recall")
    monkeypatch.setattr(entry, "context", lambda args: strict)
    assert cli.evaluate([]) == cli.REJECTED_EXIT == 3

    # run-all stops after evaluate: deploy never runs, so no champion alias appears.
    summary = cli.run_pipeline(strict, steps=("build", "evaluate", "deploy"))
    assert summary["rejected"] is True and summary["evaluation"]["status"] == "FAILED"
    assert list(summary["steps"]) == ["build", "evaluate"]
    assert summary["champion_version"] is None
    assert version_by_alias(client(), settings.model_name, "champion") is None

    # The run-all command: exit status 3, and the summary file says why.
    real_pipeline, steps = cli.run_pipeline, ("build", "evaluate", "deploy")
    written = tmp_path / "out" / "summary.json"
    with monkeypatch.context() as patch:
        patch.setattr(cli, "run_pipeline", lambda c: real_pipeline(c, steps=steps))
        assert cli.run_all(["--summary", str(written)]) == 3
    saved = strict_json(written.read_text(encoding="utf-8"))
    assert written.read_text(encoding="utf-8").endswith("}\n")  # its last line ends
    assert saved["rejected"] is True and list(saved["steps"]) == ["build", "evaluate"]
    assert saved["evaluation"]["reasons"][0].startswith("fact_recall")
    printed = capsys.readouterr().out.splitlines()
    verdict = "evaluation of v1 on 17 questions: FAILED"
    (at,) = [i for i, line in enumerate(printed) if line.startswith(verdict)]
    reasons = [f"  failed gate: {reason}" for reason in saved["evaluation"]["reasons"]]
    assert printed[at + 1 : at + 1 + len(reasons)] == reasons
    assert printed[at + 1 + len(reasons)] == "stopped after evaluate: v1 was rejected"

    # The same run with a reachable gate goes on to deploy.
    passed = cli.run_pipeline(ctx, steps=("build", "evaluate", "deploy"))
    assert passed["rejected"] is False and passed["champion_version"] is not None
    # A rejection stops before deploy: the summary names the champion the registry keeps.
    again = cli.run_pipeline(strict, steps=("build", "evaluate", "deploy"))
    assert again["rejected"] is True and list(again["steps"]) == ["build", "evaluate"]
    assert again["champion_version"] == passed["champion_version"]


def test_too_few_questions_fail_the_gate_with_or_without_a_champion(ctx, monkeypatch):
    # The slice indexes the documents of 17 questions: one more is required here.
    settings = ctx.settings
    gates = {**settings.evaluation, "min_questions": 18}

    def short(mode: str = "enabled") -> Context:
        return Context(replace(settings, evaluation={**gates, "mode": mode}))

    register_prompt.run(ctx)
    build.run(ctx)
    first = evaluate.run(short())
    assert (first["questions"], first["status"]) == (17, "FAILED")
    assert first["reasons"][0] == "questions 17 < min_questions 18"
    assert first["champion_version"] is None
    assert deploy.run(short())["champion_version"] is None  # an empty registry stays empty

    # The same settings with the gate disabled: nothing is scored, not even the number of
    # questions, so v1 passes and becomes champion.
    skipped = evaluate.run(short("disabled"))
    assert (skipped["status"], skipped["gate_result"], skipped["reasons"]) == (
        "PASSED",
        "SKIPPED",
        [],
    )
    assert deploy.run(short("disabled"))["champion_version"] == 1

    # With a champion, a candidate on too few questions is refused and the champion kept.
    register_prompt.run(ctx, text=prompt_text() + "\nKeep the answer short.\n")
    build.run(ctx)
    second = evaluate.run(short())
    assert second["model_version"] == 2 and second["champion_version"] == 1
    assert second["status"] == "FAILED" and "questions 17 < min_questions 18" in second["reasons"]
    assert deploy.run(short())["champion_version"] == 1

    # In dry_run the failure is recorded but lets the candidate pass: deploy promotes v2.
    dry = evaluate.run(short("dry_run"), version=2)
    assert (dry["model_version"], dry["status"], dry["gate_result"]) == (2, "PASSED", "FAILED")
    assert "questions 17 < min_questions 18" in dry["reasons"]
    promoted = deploy.run(short("dry_run"))
    assert (promoted["promoted"], promoted["champion_version"]) == (True, 2)

    # No question whose documents are indexed: evaluate stops before it scores anything.
    elsewhere = [{**item, "expected_sources": ["not/indexed.html"]} for item in load_eval_set()]
    monkeypatch.setattr(evaluate, "load_eval_set", lambda: elsewhere)
    runs = len(mlflow.search_runs(search_all_experiments=True))
    with pytest.raises(ValueError) as stopped:
        evaluate.run(short())
    assert str(stopped.value) == "evaluation set: no question's expected sources are in the index"
    assert len(mlflow.search_runs(search_all_experiments=True)) == runs


def test_steps_on_an_empty_registry_say_what_to_run(ctx):
    with pytest.raises(LookupError, match="run register-prompt first"):
        build.run(ctx)
    with pytest.raises(LookupError) as unbuilt:
        evaluate.run(ctx)
    # Every message a traceback shows (the error and its causes) names build: a rag
    # project has no train step.
    shown, err = [], unbuilt.value
    while err is not None:
        shown.append(str(err))
        err = err.__cause__ or err.__context__
    assert shown == [f"model {ctx.settings.model_name} has no registered version: run build first"]
    with pytest.raises(LookupError, match="has no 'challenger' alias: run the evaluate step first"):
        deploy.run(ctx)
    with pytest.raises(LookupError, match=r"has no 'champion' alias: run run-all \(or deploy\)"):
        ask.run(ctx, ["What does json.dumps return?"])


def test_rollback_takes_the_prompt_champion_back_with_the_model(ctx):
    disabled = {**ctx.settings.evaluation, "mode": "disabled"}
    quick = Context(replace(ctx.settings, evaluation=disabled))
    register_prompt.run(quick)
    assert _candidate(quick)[1]["champion_version"] == 1
    edited = prompt_text().replace("Quote the documentation", "Quote the documentation verbatim")
    register_prompt.run(quick, text=edited)
    second = _candidate(quick)[1]
    assert (second["champion_version"], second["prompt_champion_version"]) == (2, 2)

    back = rollback.run(quick)
    assert (back["champion_version"], back["prompt_champion_version"]) == (1, 1)
    assert prompt_by_alias(quick.settings.prompt_name, "champion").version == 1

    # deploy does not promote the rolled-back version again: a new one must be evaluated.
    again = deploy.run(quick)
    assert (again["promoted"], again["champion_version"]) == (False, 1)
    assert again["reason"] == (
        "v2 was rolled back (to v1): evaluate a new version, or move the alias by hand"
    )
    assert prompt_by_alias(quick.settings.prompt_name, "champion").version == 1


HTTP_500 = "generator: call to http://127.0.0.1:9/v1/chat/completions failed: HTTP Error 500"


def unanswered(model: str, failed: int) -> str:
    """The gate's line for ``model`` when ``failed`` of the slice's 17 questions failed."""
    return (
        f"{model}: {failed} of 17 questions gave no answer or no score "
        f"(first: RuntimeError: {HTTP_500})"
    )


def run_metrics(verdict: dict) -> dict[str, float]:
    """The metrics of the evaluation run of ``verdict`` (evaluate's result)."""
    return client().get_run(verdict["run_id"]).data.metrics


@scorer(name="correctness")
def unreachable_judge(outputs) -> float:
    """An LLM judge whose endpoint answers HTTP 500."""
    raise RuntimeError(f"judge: {HTTP_500}")


def judged(settings, judge, monkeypatch) -> Context:
    """A context on ``settings`` with a judge endpoint configured, whose only judge is
    ``judge`` (``evaluate.judge_scorers`` replaced for the test)."""
    evaluation = {**settings.evaluation, "judge_endpoint": "databricks:/judge"}
    monkeypatch.setattr(evaluate, "judge_scorers", lambda endpoint: [judge])
    return Context(replace(settings, evaluation=evaluation))


@scorer(name="correctness")
def judge_down_on_prompt_v1(outputs) -> float:
    """An LLM judge whose endpoint answers HTTP 500 on the answers of the model built with
    prompt version 1, and gives the others 1.0."""
    if outputs["metadata"]["prompt_version"] == "1":
        raise RuntimeError(f"judge: {HTTP_500}")
    return 1.0


@scorer(name="correctness")
def scoreless_judge(outputs) -> float:
    """An LLM judge whose score is NaN."""
    return math.nan


def test_a_judge_that_gives_no_score_leaves_its_questions_unjudged_and_the_gate_standing(
    ctx, monkeypatch
):
    """A judge gives NaN as its score on every question: each question counts as unjudged,
    as when the judge's endpoint fails, and the code scores and their gates stand. (Given
    the NaN itself, MLflow keeps no per-question result, and every question would fail
    the gate as unscored.) The run's evaluation.json is strict JSON, without a mean of
    the judge."""
    with_judge = judged(ctx.settings, scoreless_judge, monkeypatch)
    register_prompt.run(with_judge)
    build.run(with_judge)

    verdict = evaluate.run(with_judge)
    saved = client().download_artifacts(verdict["run_id"], evaluate.RESULT_FILE)
    written = strict_json(Path(saved).read_text(encoding="utf-8"))["result"]

    assert (verdict["status"], verdict["reasons"]) == ("PASSED", [])
    assert verdict["unjudged"] == verdict["questions"] == 17  # the questions of the slice
    assert "correctness" not in verdict["metrics"]  # no score: no mean of the judge
    assert written["metrics"] == verdict["metrics"]
    # The code scores are those of the same version evaluated without a judge.
    monkeypatch.undo()  # judge_scorers as it is: no judge without an endpoint
    without_judge = evaluate.run(ctx)
    assert without_judge["reused"] is False
    assert without_judge["metrics"] == verdict["metrics"]


class Flaky:
    """The model's generator, raising as a chat-completions endpoint answering HTTP 500 does
    for every question but the first ``answers`` ones it is asked."""

    def __init__(self, generator, answers: int):
        self.generator, self.answers, self.asked = generator, answers, []

    def generate(self, prompt: str, question: str, blocks) -> tuple[str, dict]:
        self.asked.append(question)
        if len(set(self.asked)) > self.answers:
            raise RuntimeError(HTTP_500)
        return self.generator.generate(prompt, question, blocks)


class Uncited:
    """The model's generator, its answer to the first question it is asked stripped of
    citations (the pipeline's own :data:`CITATION` pattern)."""

    def __init__(self, generator):
        self.generator, self.first = generator, None

    def generate(self, prompt: str, question: str, blocks) -> tuple[str, dict]:
        answer, metadata = self.generator.generate(prompt, question, blocks)
        self.first = self.first or question
        return (CITATION.sub("", answer) if question == self.first else answer), metadata


def flaky_versions(monkeypatch, answers: dict[int, int], uncited: tuple[int, ...] = ()) -> None:
    """Evaluate loads version v with a :class:`Flaky` generator answering ``answers[v]``
    (and, for v in ``uncited``, an :class:`Uncited` one inside it)."""
    real = evaluate.load_pipeline

    def load(name, version):
        pipeline = real(name, version)
        if int(version) in uncited:
            pipeline.generator = Uncited(pipeline.generator)
        if int(version) in answers:
            pipeline.generator = Flaky(pipeline.generator, answers[int(version)])
        return pipeline

    monkeypatch.setattr(evaluate, "load_pipeline", load)


@pytest.mark.parametrize("answers", [3, 0])
def test_a_candidate_that_does_not_answer_every_question_is_refused(ctx, monkeypatch, answers):
    register_prompt.run(ctx)
    build.run(ctx)
    # The real generator answers ``answers`` of the 17 questions: MLflow's means cover
    # only those (and there are none without an answer).
    flaky_versions(monkeypatch, {1: answers})
    verdict = evaluate.run(ctx)
    assert (verdict["status"], verdict["gate_result"]) == ("FAILED", "FAILED")
    assert verdict["reasons"][0] == unanswered("candidate", 17 - answers)
    # Every mean is over the 17 questions asked: an unanswered question scores 0.
    assert verdict["metrics"]["retrieval_hit"] <= answers / 17
    tags = client().get_model_version(ctx.settings.model_name, "1").tags
    assert tags["validation_status"] == "FAILED"
    assert tags["validation_reasons"].startswith(unanswered("candidate", 17 - answers))
    assert deploy.run(ctx)["champion_version"] is None
    if answers == 3:
        # That run is never reused: a rerun, the endpoint answering again, is its retry.
        monkeypatch.undo()
        retry = evaluate.run(ctx)
        assert (retry["reused"], retry["status"], retry["reasons"]) == (False, "PASSED", [])
        assert retry["run_id"] != verdict["run_id"]


@pytest.mark.parametrize("answers", [3, 0])
def test_a_champion_that_does_not_answer_scores_0_on_those_questions(ctx, monkeypatch, answers):
    register_prompt.run(ctx)
    assert _candidate(ctx)[1]["champion_version"] == 1
    register_prompt.run(ctx, text=prompt_text() + "\nKeep the answer short.\n")
    build.run(ctx)

    # The champion answers ``answers`` of the 17 questions: its means are over all 17, and
    # the verdict says so. Not a failed gate (the candidate answered every question): a
    # champion answering nothing leaves the absolute gates, as no champion does.
    flaky_versions(monkeypatch, {1: answers})
    verdict = evaluate.run(ctx)
    assert (verdict["model_version"], verdict["champion_version"]) == (2, 1)
    assert verdict["champion_metrics"]["retrieval_hit"] <= answers / 17
    assert verdict["champion_failures"] == unanswered("champion v1", 17 - answers)
    assert (verdict["status"], verdict["reasons"]) == ("PASSED", [])
    assert verdict["compared"]["questions"] == answers  # the relative gate's questions
    tags = client().get_model_version(ctx.settings.model_name, "2").tags
    assert tags["validation_champion_failures"] == verdict["champion_failures"]
    if answers == 3:
        # Evaluated again (a rerun: build hands on the unchanged v2), the champion answering
        # every question: no tag of the earlier verdict stays on the version. A judge now
        # scores too, its endpoint failing on every answer of the champion (prompt v1).
        monkeypatch.undo()
        with_judge = judged(ctx.settings, judge_down_on_prompt_v1, monkeypatch)
        again = evaluate.run(with_judge)
        assert (again["model_version"], again["champion_failures"]) == (2, None)
        tags = client().get_model_version(ctx.settings.model_name, "2").tags
        assert "validation_champion_failures" not in tags
        assert tags["validation_run_id"] == again["run_id"]
        # The champion's 17 answers went unjudged, none of the candidate's: the result and
        # the run's metrics say so, the gates (code scorers only) pass, and a rerun is the
        # judge's retry: that run is not reused.
        assert (again["unjudged"], again["champion_unjudged"]) == (0, 17)
        assert (again["status"], again["reasons"]) == ("PASSED", [])
        metrics = run_metrics(again)
        assert (metrics["unjudged_questions"], metrics["champion_unjudged_questions"]) == (0, 17)
        retry = evaluate.run(with_judge)
        assert (retry["reused"], retry["champion_unjudged"]) == (False, 17)
        assert retry["run_id"] != again["run_id"]
    assert deploy.run(ctx)["champion_version"] == 2


@pytest.mark.parametrize(("champion_answers", "candidate_answers"), [(12, 14), (3, 17)])
def test_the_champion_is_compared_on_the_questions_both_answered(
    ctx, monkeypatch, champion_answers, candidate_answers
):
    register_prompt.run(ctx)
    assert _candidate(ctx)[1]["champion_version"] == 1
    register_prompt.run(ctx, text=prompt_text() + "\nKeep the answer short.\n")
    build.run(ctx)

    # The champion's endpoint fails after ``champion_answers`` questions, the candidate's
    # after ``candidate_answers``, and the candidate cites nothing in its first answer.
    flaky_versions(monkeypatch, {1: champion_answers, 2: candidate_answers}, uncited=(2,))
    verdict = evaluate.run(ctx)
    both = verdict["compared"]
    assert both["questions"] == champion_answers
    assert both["champion"]["cites_retrieved_source"] == 1.0
    assert both["candidate"]["cites_retrieved_source"] == pytest.approx(
        (champion_answers - 1) / champion_answers
    )
    cites = verdict["metrics"]["cites_retrieved_source"]
    assert cites == pytest.approx((candidate_answers - 1) / 17)
    assert verdict["champion_metrics"]["cites_retrieved_source"] == pytest.approx(
        champion_answers / 17
    )
    run = client().get_run(verdict["run_id"])
    assert run.data.metrics["compared_questions"] == champion_answers
    if champion_answers == 12:
        # 12 >= min_questions (10): on the questions both answered the candidate cites
        # 11/12, more than 5 % below the champion, though over all 17 the champion's
        # unanswered questions, counted 0, make a lower bar (12/17 against 13/17).
        assert verdict["reasons"] == [
            unanswered("candidate", 17 - candidate_answers),
            "cites_retrieved_source 0.765 < min_cites_source 0.8",
            "cites_retrieved_source 0.917 < champion 1.000 less max_relative_degradation 5% "
            "(on the 12 questions both answered)",
        ]
        assert verdict["status"] == "FAILED"
        assert deploy.run(ctx)["champion_version"] == 1
    else:
        # 3 questions answered by both are too few to compare (min_questions 10): as with
        # a champion that answers none, only the fixed thresholds apply, which the
        # candidate (16 of 17 answers cited) passes.
        assert ctx.settings.evaluation["min_questions"] == 10
        assert (verdict["reasons"], verdict["status"]) == ([], "PASSED")
        assert deploy.run(ctx)["champion_version"] == 2
