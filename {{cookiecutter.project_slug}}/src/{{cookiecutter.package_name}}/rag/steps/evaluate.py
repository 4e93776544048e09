"""Step 5, evaluate: score the candidate QA model on the evaluation set and gate it.

``mlflow.genai.evaluate`` runs the candidate (and the champion, when there is
another one) on the evaluation set's questions whose documents are indexed, with
the code scorers (retrieval hit in the first ``evaluation.k`` sources, expected
fact recall, answer cites a retrieved source) and, when
``evaluation.judge_endpoint`` is set, MLflow's LLM judges. Each code metric is a
mean over every question asked: a question the model did not answer (the
retriever or generator raised) or that a code scorer gave no value scores 0.
Gates from ``evaluation`` in the config, on the code scorers' means:

- ``min_questions``: the least number of questions evaluated (those whose documents are
  indexed); fewer fail the gate;
- every question answered and scored: a candidate with any question without an
  answer or a code score fails, the reason naming how many and the first error;
- ``min_retrieval_hit_rate``, ``min_fact_recall``, ``min_cites_source``: absolute floors;
- ``max_relative_degradation``: no code metric may fall more than this fraction
  below the champion's. The champion is scored on the same questions, and the two
  are compared on the questions both answered and got every code score on, each
  model's means over those alone (:func:`compared`): a question one of them did not
  answer, an endpoint error say, counts for neither, so a champion whose endpoint
  failed on some questions is not a lower bar. Its failures are recorded
  (``champion_failures``) without failing the gate; a champion that answers
  nothing, or fewer than ``min_questions`` of the questions the candidate answered,
  leaves the absolute gates only, as when there is no champion;
- a code metric missing or not a finite number, for either model, fails the gate.

``mode``: ``enabled`` (a failed gate sets validation_status FAILED; deploy keeps
the champion), ``dry_run`` (failures recorded, status PASSED) or ``disabled``
(nothing scored, status PASSED, gate result SKIPPED). The verdict is logged on
the evaluation run (params, metrics, tags) and tagged on the model version, which
gets the challenger alias. Evaluating a version again on the same inputs (the same
candidate and champion versions, questions, evaluation settings and code of this package:
:func:`inputs_digest`, tag ``validation_inputs`` on the run) reuses the finished run that
evaluated them: no new run, no new trace, the same verdict written again. A run where the
candidate or the champion left a question without an answer or a code score, or a judge
without a score (an endpoint error, say), is never reused: a rerun is its retry. A deleted
run is not reused either. On other inputs a version is evaluated anew, and
the verdict replaces its ``validation_*`` tags as a whole,
``validation_status`` last (:func:`...registry.write_verdict`). The
evaluation run holds the candidate's scoring (MLflow's ``<metric>/mean`` and traces),
its means under the metric names and the champion's under ``champion_<metric>``; the
champion's scoring is in a nested run ``champion-v<version>``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
from contextlib import redirect_stdout

import mlflow

from ...registry import (
    FAILED,
    PASSED,
    STATUS_TAG,
    get_version,
    latest_version,
    model_uri,
    same_version,
    version_by_alias,
    write_verdict,
)
from ...runtime.context import Context
from ...runtime.json_output import json_text
from ...runtime.tracking import client
from ..eval_set import as_eval_data, load_eval_set
from ..packaged import source_digest
from ..scorers import CODE_METRICS, code_scorers, judge_scorers, scored_or_raised

SKIPPED = "SKIPPED"
GATE_TAG = "validation_gate_result"
INPUTS_TAG = "validation_inputs"  # on the evaluation run: its inputs_digest
RESULT_FILE = "evaluation.json"  # on the evaluation run: the result and verdict tags
# Evaluation settings that change no verdict (only what the caller does with it).
VERDICT_FREE = ("fail_on_rejection",)
CHAMPION_FAILURES_TAG = "validation_champion_failures"
# On the evaluation run, with judges: how many questions a judge gave no score (the
# candidate's; the champion's under champion_<name>).
UNJUDGED_METRIC = "unjudged_questions"
FLOORS = {
    "retrieval_hit": "min_retrieval_hit_rate",
    "fact_recall": "min_fact_recall",
    "cites_retrieved_source": "min_cites_source",
}


def load_pipeline(name: str, version: str):
    """The QAPipeline inside registered model ``name`` version ``version``."""
    return mlflow.pyfunc.load_model(model_uri(name, version)).unwrap_python_model().pipeline


def one_line(text: object) -> str:
    """``text`` as one line (runs of white space, newlines included, become one space)."""
    return " ".join(str(text).split())


def score(
    pipeline, data: list[dict], k: int, judge: str | None
) -> tuple[dict[str, float], str, dict[str, dict[str, float]], int | None]:
    """(means, failures, values, unjudged) of ``pipeline`` over ``data`` (one
    ``mlflow.genai.evaluate``).

    ``mlflow.genai.evaluate`` catches an error of the model per question and
    leaves its scorers without a value, and its means leave those questions out.
    Here ``values`` maps each question (text) to its code metrics' finite values (a
    metric without one is absent), and each code metric's mean is over all of
    ``data`` (:func:`means_over`), a question without a value counting 0; judge
    metrics are MLflow's means. ``failures`` is "" when every question was answered
    and has every code score, else one line: how many questions did not, and the
    first error (the model's, else a scorer's). ``unjudged`` is how many questions a judge
    scorer met an error on (its endpoint failed, say), None without ``judge``; it fails no
    gate, as the judges gate nothing, but it is recorded and the run is not reused
    (:func:`_evaluate`).

    MLflow prints an "Evaluation completed" banner (with terminal colour codes) when it
    is done; it goes to stderr, so the step's JSON stays alone on stdout.
    """
    if os.environ.get("MLFLOW_GENAI_EVAL_MAX_WORKERS") is None:
        # SQLite (the local store) serialises writers: parallel workers only collide.
        os.environ["MLFLOW_GENAI_EVAL_MAX_WORKERS"] = "1"
    os.environ.setdefault("MLFLOW_GENAI_EVAL_SKIP_TRACE_VALIDATION", "true")
    errors: list[str] = []

    def predict(question: str) -> dict:
        try:
            return pipeline.answer(question)
        except Exception as err:
            errors.append(f"{type(err).__name__}: {err}")
            raise

    with redirect_stdout(sys.stderr):
        result = mlflow.genai.evaluate(
            data=data,
            predict_fn=predict,
            scorers=code_scorers(k) + [scored_or_raised(j) for j in judge_scorers(judge)],
        )
    means = {
        key.removesuffix("/mean"): float(value)
        for key, value in result.metrics.items()
        if key.endswith("/mean") and key.removesuffix("/mean") not in CODE_METRICS
    }
    # One row per question with a trace; a question without one has no value either.
    rows = [] if result.result_df is None else result.result_df.to_dict("records")
    values: dict[str, dict[str, float]] = {}
    unjudged = 0
    for row in rows:
        question = (row.get("request") or {}).get("question")
        found = {metric: _number(row.get(f"{metric}/value")) for metric in CODE_METRICS}
        values[question] = {metric: v for metric, v in found.items() if v is not None}
        for metric, value in found.items():
            message = row.get(f"{metric}/error_message")
            if value is None and isinstance(message, str):  # else NaN: no error
                errors.append(f"{metric}: {message}")
        unjudged += any(
            key.endswith("/error_message")
            and key.removesuffix("/error_message") not in CODE_METRICS
            and isinstance(message, str)
            for key, message in row.items()
        )
    unjudged = unjudged if judge else None
    questions = asked(data)
    means.update(means_over(values, questions))
    failed = len(questions) - len(scored(values, questions))
    if not failed:
        return means, "", values, unjudged
    first = one_line(errors[0]) if errors else "no result row"
    line = f"{failed} of {len(data)} questions gave no answer or no score (first: {first})"
    return means, line, values, unjudged


def asked(data: list[dict]) -> list[str]:
    """The questions of evaluation ``data`` (rows of :func:`..eval_set.as_eval_data`), in order."""
    return [row["inputs"]["question"] for row in data]


def scored(values: dict[str, dict[str, float]], questions: list[str]) -> list[str]:
    """The ``questions`` (in their order) that have a value of every code metric in
    ``values`` (question -> metric -> value, as :func:`score` returns)."""
    return [q for q in questions if len(values.get(q, {})) == len(CODE_METRICS)]


def means_over(values: dict[str, dict[str, float]], questions: list[str]) -> dict[str, float]:
    """Each code metric's mean over ``questions`` (non-empty, repeats counted), a question
    without a value in ``values`` (question -> metric -> value) counting 0."""
    return {
        metric: sum(values.get(q, {}).get(metric, 0.0) for q in questions) / len(questions)
        for metric in CODE_METRICS
    }


def compared(
    candidate: dict[str, dict[str, float]],
    champion: dict[str, dict[str, float]],
    questions: list[str],
) -> dict:
    """What the relative gate compares: both models on the same questions, treated alike.

    ``candidate`` and ``champion`` are :func:`score` values (question -> metric ->
    value), ``questions`` the evaluated ones. Only the questions both models answered
    and got every code score on count, for both: a question one of them did not
    answer (an endpoint error, say) says nothing about the quality of either.
    Returns questions (how many both answered), candidate and champion (each model's
    code metric means on those questions; None when there is none).
    """
    answered_by_champion = set(scored(champion, questions))
    both = [q for q in scored(candidate, questions) if q in answered_by_champion]
    return {
        "questions": len(both),
        "candidate": means_over(candidate, both) if both else None,
        "champion": means_over(champion, both) if both else None,
    }


def _number(value) -> float | None:
    """``value`` as a finite float, or None (no value, NaN or not a number)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def too_few_questions(questions: int, gates: dict) -> list[str]:
    """The failed-gate line when ``questions`` (the number evaluated) is below
    ``gates["min_questions"]``, else no line."""
    least = int(gates["min_questions"])
    return [f"questions {questions} < min_questions {least}"] if questions < least else []


def unusable(metrics: dict, model: str) -> list[str]:
    """One line per code metric that ``metrics`` of ``model`` lacks or holds as no finite number."""
    return [
        f"{model}: metric {metric} is {metrics.get(metric, 'missing')}"
        for metric in CODE_METRICS
        if _number(metrics.get(metric)) is None
    ]


def gate(
    metrics: dict, gates: dict, champion: dict | None = None, comparison: dict | None = None
) -> list[str]:
    """One line per failed gate of the candidate, whose means over every question are
    ``metrics``.

    The floors are checked on ``metrics``. ``champion`` (the champion's means, None
    without one) is only checked for usable figures. The relative gate
    (:func:`degradation`) compares the means of ``comparison`` (:func:`compared`: both
    models on the questions both answered) when it holds at least ``min_questions``
    questions; on fewer, as when the champion answered none, only the floors apply.
    A code metric missing, or not a finite number (NaN), fails the gate with a line naming
    it and the model ("candidate" or "champion"): it is never compared, so never passes.
    """
    reasons = unusable(metrics, "candidate")
    for metric, floor_key in FLOORS.items():
        floor = float(gates[floor_key])
        value = _number(metrics.get(metric))
        if value is not None and value < floor:
            reasons.append(f"{metric} {value:.3f} < {floor_key} {floor}")
    if champion is not None:
        reasons += unusable(champion, "champion")
    if comparison and comparison["questions"] >= int(gates["min_questions"]):
        reasons += degradation(
            comparison["candidate"], comparison["champion"], gates, comparison["questions"]
        )
    return reasons


def degradation(candidate: dict, champion: dict, gates: dict, questions: int = 0) -> list[str]:
    """One line per code metric of ``candidate`` more than ``max_relative_degradation``
    below ``champion``'s (both means over the same questions; ``questions``, when given,
    says how many, in the line). A metric that is not a finite number is not compared."""
    allowed = float(gates["max_relative_degradation"])
    on = f" (on the {questions} questions both answered)" if questions else ""
    reasons = []
    for metric in CODE_METRICS:
        value, best = _number(candidate.get(metric)), _number(champion.get(metric))
        if value is not None and best is not None and value < best * (1 - allowed):
            reasons.append(
                f"{metric} {value:.3f} < champion {best:.3f} "
                f"less max_relative_degradation {allowed:.0%}{on}"
            )
    return reasons


def inputs_digest(candidate, champion, data: list[dict], gates: dict, code: str) -> str:
    """64 hex digits of SHA-256 over what decides a verdict: the ``candidate`` and
    ``champion`` ModelVersions (champion None without another one; each by name, version
    and source run, so a model registered anew under the same name is another model), the
    evaluation ``data`` (rows of :func:`..eval_set.as_eval_data`), the evaluation
    settings ``gates`` but :data:`VERDICT_FREE`, and ``code``, the digest of the package's
    source (:func:`..packaged.source_digest`): the scorers and the gate run from the
    installed package, so after an upgrade the same inputs are evaluated anew."""
    spec = {
        "candidate": [candidate.name, str(candidate.version), candidate.run_id],
        "champion": None if champion is None else [str(champion.version), champion.run_id],
        "data": data,
        "evaluation": {k: v for k, v in gates.items() if k not in VERDICT_FREE},
        "code": code,
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()


def earlier_evaluation(digest: str) -> dict | None:
    """``{"result": ..., "tags": ...}`` (the step's result and the verdict tags) that the
    newest finished, not deleted evaluation run of the active experiment tagged
    ``validation_inputs = digest`` logged (:data:`RESULT_FILE`), or None without one."""
    runs = mlflow.search_runs(
        filter_string=f"tags.{INPUTS_TAG} = '{digest}' and attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
        output_format="list",
    )
    if not runs:
        return None
    return mlflow.artifacts.load_dict(f"{runs[0].info.artifact_uri}/{RESULT_FILE}")


def run(ctx: Context, version: int | None = None) -> dict:
    """Evaluate QA model ``version`` (default: the newest) and record the verdict.

    Returns model_version, status (what deploy acts on), gate_result, reasons,
    metrics (candidate means), champion_version and champion_metrics (None
    without another champion), champion_failures (the line saying how many
    questions the champion did not answer or get a score on, else None; also the
    tag ``validation_champion_failures``), compared (what the relative gate compared,
    :func:`compared`; None without another champion; its ``questions`` is also the
    metric ``compared_questions``), questions (rows evaluated), unjudged and
    champion_unjudged (with ``evaluation.judge_endpoint``: how many questions a judge met
    an error on and gave no score, each model's; also the metrics ``unjudged_questions``
    and ``champion_unjudged_questions``; None without judges, without another champion
    or when nothing is scored; the judges gate nothing, so the verdict is the same),
    run_id and reused (True when the same inputs were evaluated before: that run's
    result, nothing scored again).
    Raises LookupError when no version is registered or ``version`` is not one (a
    registry error other than not-found propagates); ValueError when no
    evaluation question's documents are indexed.
    """
    settings = ctx.settings
    gates = settings.evaluation
    ctx.mlflow()
    registry = client()
    name = settings.model_name
    if version is not None:
        candidate = get_version(registry, name, version)
    else:
        candidate = latest_version(registry, name, registered_by="build")
    champion = version_by_alias(registry, name, settings.champion_alias)
    if champion is not None and same_version(champion.version, candidate.version):
        champion = None
    documents = ctx.tables.read(settings.table("chunks"), "the index step").select("doc_id")
    data = as_eval_data(load_eval_set(), {r.doc_id for r in documents.distinct().collect()})
    if not data:
        raise ValueError("evaluation set: no question's expected sources are in the index")
    digest = inputs_digest(candidate, champion, data, gates, source_digest())
    earlier = earlier_evaluation(digest)
    if earlier is None:
        result, tags = _evaluate(name, candidate, champion, data, gates, digest)
    else:
        result, tags = earlier["result"], earlier["tags"]
    write_verdict(registry, name, candidate.version, tags)
    registry.set_registered_model_alias(name, settings.challenger_alias, candidate.version)
    return {**result, "reused": earlier is not None}


def _evaluate(name: str, candidate, champion, data: list[dict], gates: dict, digest: str):
    """(result, verdict tags) of a new evaluation run of ``candidate`` against ``champion``
    on ``data`` (see :func:`run`), both logged on the run, its ``validation_inputs`` tag
    ``digest`` set last, and only when both models answered and got a code score (and a
    judge score, with judges) on every question: a run that stopped midway or met an error
    is never reused."""
    mode = gates["mode"]
    unanswered = False
    metrics: dict[str, float] = {}
    champion_metrics = champion_failures = comparison = None
    unjudged = champion_unjudged = None  # questions a judge gave no score (see score)
    reasons: list[str] = []
    k, judge = int(gates["k"]), gates.get("judge_endpoint")
    with mlflow.start_run(run_name=f"evaluate-v{candidate.version}") as active:
        thresholds = {
            key: float(gates[key]) for key in (*FLOORS.values(), "max_relative_degradation")
        }
        mlflow.log_params(
            {
                "candidate_version": candidate.version,
                "mode": mode,
                "k": k,
                "questions": len(data),
                "min_questions": int(gates["min_questions"]),
                "judge": judge or "none",
                "champion_version": champion.version if champion else "none",
                **thresholds,
            }
        )
        if mode != "disabled":
            pipeline = load_pipeline(name, candidate.version)
            metrics, failures, values, unjudged = score(pipeline, data, k, judge)
            reasons = too_few_questions(len(data), gates)
            if failures:
                reasons.append(f"candidate: {failures}")
                unanswered = True
            if champion is not None:
                # A run of its own: mlflow.genai.evaluate logs its means (``<metric>/mean``)
                # and links its traces to the active run, where the champion's would
                # overwrite the candidate's means under the same names.
                with mlflow.start_run(run_name=f"champion-v{champion.version}", nested=True):
                    pipeline = load_pipeline(name, champion.version)
                    scored_champion = score(pipeline, data, k, judge)
                champion_metrics, failures, champion_values, champion_unjudged = scored_champion
                champion_failures = (
                    f"champion v{champion.version}: {failures}" if failures else None
                )
                mlflow.log_metrics({f"champion_{m}": v for m, v in champion_metrics.items()})
                comparison = compared(values, champion_values, asked(data))
                mlflow.log_metric("compared_questions", comparison["questions"])
            mlflow.log_metrics(metrics)
            counts = {UNJUDGED_METRIC: unjudged, f"champion_{UNJUDGED_METRIC}": champion_unjudged}
            mlflow.log_metrics({key: n for key, n in counts.items() if n is not None})
            reasons += gate(metrics, gates, champion_metrics, comparison)
        gate_result = SKIPPED if mode == "disabled" else (FAILED if reasons else PASSED)
        status = FAILED if reasons and mode == "enabled" else PASSED
        verdict = {
            STATUS_TAG: status,
            GATE_TAG: gate_result,
            "validation_mode": mode,
            "validation_reasons": "; ".join(reasons) or "none",
            **({CHAMPION_FAILURES_TAG: champion_failures} if champion_failures else {}),
        }
        mlflow.set_tags(verdict)
        tags = {
            **verdict,
            "validation_run_id": active.info.run_id,
            "validation_champion_version": champion.version if champion else "none",
            **{f"validation_{m}": f"{v:.6g}" for m, v in metrics.items()},
        }
        result = {
            "model_version": int(candidate.version),
            "status": status,
            "gate_result": gate_result,
            "reasons": reasons,
            "metrics": metrics,
            "champion_version": int(champion.version) if champion else None,
            "champion_metrics": champion_metrics,
            "champion_failures": champion_failures,
            "compared": comparison,
            "questions": len(data),
            "unjudged": unjudged,
            "champion_unjudged": champion_unjudged,
            "run_id": active.info.run_id,
        }
        # Strict JSON: a mean that is not finite (a judge's, say) is written as null.
        mlflow.log_text(json_text({"result": result, "tags": tags}), RESULT_FILE)
        if not (unanswered or champion_failures or unjudged or champion_unjudged):
            mlflow.set_tag(INPUTS_TAG, digest)
    return result, tags
