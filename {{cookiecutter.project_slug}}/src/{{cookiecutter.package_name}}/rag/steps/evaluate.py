"""Step 5, evaluate: score the candidate QA model on the evaluation set and gate it.

``mlflow.genai.evaluate`` runs the candidate (and the champion, when there is
another one) on the evaluation set's questions whose documents are indexed, with
the code scorers (retrieval hit in the first ``evaluation.k`` sources, expected
fact recall, answer cites a retrieved source) and, when
``evaluation.judge_endpoint`` is set, MLflow's LLM judges. Gates from
``evaluation`` in the config, on the code scorers' means:

- ``min_questions``: the least number of questions evaluated (those whose documents are
  indexed); fewer fail the gate;
- ``min_retrieval_hit_rate``, ``min_fact_recall``, ``min_cites_source``: absolute floors;
- ``max_relative_degradation``: no code metric may fall more than this fraction
  below the champion's.

``mode``: ``enabled`` (a failed gate sets validation_status FAILED; deploy keeps
the champion), ``dry_run`` (failures recorded, status PASSED) or ``disabled``
(nothing scored, status PASSED, gate result SKIPPED). The verdict is logged on
the evaluation run (params, metrics, tags) and tagged on the model version, which
gets the challenger alias.
"""

from __future__ import annotations

import os
import sys
from contextlib import redirect_stdout

import mlflow

from ...registry import FAILED, PASSED, STATUS_TAG, latest_version, model_uri, version_by_alias
from ...runtime.context import Context
from ...runtime.tracking import client
from ..eval_set import as_eval_data, load_eval_set
from ..scorers import CODE_METRICS, code_scorers, judge_scorers

SKIPPED = "SKIPPED"
GATE_TAG = "validation_gate_result"
FLOORS = {
    "retrieval_hit": "min_retrieval_hit_rate",
    "fact_recall": "min_fact_recall",
    "cites_retrieved_source": "min_cites_source",
}


def load_pipeline(name: str, version: str):
    """The QAPipeline inside registered model ``name`` version ``version``."""
    return mlflow.pyfunc.load_model(model_uri(name, version)).unwrap_python_model().pipeline


def score(pipeline, data: list[dict], k: int, judge: str | None) -> dict[str, float]:
    """Mean of every scorer over ``data`` for ``pipeline`` (one ``mlflow.genai.evaluate``).

    MLflow prints an "Evaluation completed" banner (with terminal colour codes) when it
    is done; it goes to stderr, so the step's JSON stays alone on stdout.
    """
    if os.environ.get("MLFLOW_GENAI_EVAL_MAX_WORKERS") is None:
        # SQLite (the local store) serialises writers: parallel workers only collide.
        os.environ["MLFLOW_GENAI_EVAL_MAX_WORKERS"] = "1"
    os.environ.setdefault("MLFLOW_GENAI_EVAL_SKIP_TRACE_VALIDATION", "true")
    with redirect_stdout(sys.stderr):
        result = mlflow.genai.evaluate(
            data=data,
            predict_fn=lambda question: pipeline.answer(question),
            scorers=code_scorers(k) + judge_scorers(judge),
        )
    return {
        key.removesuffix("/mean"): float(value)
        for key, value in result.metrics.items()
        if key.endswith("/mean")
    }


def too_few_questions(questions: int, gates: dict) -> list[str]:
    """The failed-gate line when ``questions`` (the number evaluated) is below
    ``gates["min_questions"]``, else no line."""
    least = int(gates["min_questions"])
    return [f"questions {questions} < min_questions {least}"] if questions < least else []


def gate(metrics: dict, champion: dict | None, gates: dict) -> list[str]:
    """One line per failed gate for candidate ``metrics`` (and ``champion`` metrics, or None)."""
    reasons = []
    for metric, floor_key in FLOORS.items():
        floor = float(gates[floor_key])
        if metrics[metric] < floor:
            reasons.append(f"{metric} {metrics[metric]:.3f} < {floor_key} {floor}")
    if champion is not None:
        allowed = float(gates["max_relative_degradation"])
        for metric in CODE_METRICS:
            bound = champion[metric] * (1 - allowed)
            if metrics[metric] < bound:
                reasons.append(
                    f"{metric} {metrics[metric]:.3f} < champion {champion[metric]:.3f} "
                    f"less max_relative_degradation {allowed:.0%}"
                )
    return reasons


def run(ctx: Context, version: int | None = None) -> dict:
    """Evaluate QA model ``version`` (default: the newest) and record the verdict.

    Returns model_version, status (what deploy acts on), gate_result, reasons,
    metrics (candidate means), champion_version and champion_metrics (None
    without another champion), questions (rows evaluated) and run_id.
    Raises LookupError when no version is registered; ValueError when no
    evaluation question's documents are indexed.
    """
    settings = ctx.settings
    gates = settings.evaluation
    mode = gates["mode"]
    ctx.mlflow()
    registry = client()
    name = settings.model_name
    if version:
        candidate = registry.get_model_version(name, str(version))
    else:
        try:
            candidate = latest_version(registry, name)
        except LookupError as err:
            raise LookupError(f"model {name} has no registered version: run build first") from err
    champion = version_by_alias(registry, name, settings.champion_alias)
    if champion is not None and champion.version == candidate.version:
        champion = None
    documents = ctx.tables.read(settings.table("chunks"), "the index step").select("doc_id")
    data = as_eval_data(load_eval_set(), {r.doc_id for r in documents.distinct().collect()})
    if not data:
        raise ValueError("evaluation set: no question's expected sources are in the index")
    metrics: dict[str, float] = {}
    champion_metrics = None
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
            metrics = score(load_pipeline(name, candidate.version), data, k, judge)
            if champion is not None:
                champion_metrics = score(load_pipeline(name, champion.version), data, k, judge)
                mlflow.log_metrics({f"champion_{m}": v for m, v in champion_metrics.items()})
            mlflow.log_metrics(metrics)
            reasons = too_few_questions(len(data), gates) + gate(metrics, champion_metrics, gates)
        gate_result = SKIPPED if mode == "disabled" else (FAILED if reasons else PASSED)
        status = FAILED if reasons and mode == "enabled" else PASSED
        verdict = {
            STATUS_TAG: status,
            GATE_TAG: gate_result,
            "validation_mode": mode,
            "validation_reasons": "; ".join(reasons) or "none",
        }
        mlflow.set_tags(verdict)
    tags = {
        **verdict,
        "validation_run_id": active.info.run_id,
        "validation_champion_version": champion.version if champion else "none",
        **{f"validation_{m}": f"{v:.6g}" for m, v in metrics.items()},
    }
    for key, value in tags.items():
        registry.set_model_version_tag(name, candidate.version, key, value)
    registry.set_registered_model_alias(name, settings.challenger_alias, candidate.version)
    return {
        "model_version": int(candidate.version),
        "status": status,
        "gate_result": gate_result,
        "reasons": reasons,
        "metrics": metrics,
        "champion_version": int(champion.version) if champion else None,
        "champion_metrics": champion_metrics,
        "questions": len(data),
        "run_id": active.info.run_id,
    }
