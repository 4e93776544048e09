"""Step 7, monitor: answers per day, latency, out-of-domain rate and negative feedback.

Reads the answers of the last ``monitoring.window_days`` UTC days, today included, each
from its midnight, from the channels the champion answers through: the traces tagged
``channel=ask`` that ended with an answer (status OK; answers given through
``rag/serving.py`` ``ask``, as the ``ask`` command does; not evaluation runs) and, when
online serving is included (the settings name ``tables.inference_table``), the inference
table (the answers of ``serve`` or the Model Serving endpoint: every answer of a request
answered with HTTP 200; their own traces are not tagged, so none is counted twice). Also
the feedback table (one row per trace and user; a served answer has no trace id, so it
is not rated). Per UTC day: answers, latency p50 and p95 (ms: the trace's duration, or
for a served answer its request's), out_of_domain_rate (share of answers whose best
retrieval score is below ``monitoring.out_of_domain_score``; null when that setting is
null, as on Databricks until calibrated), each answer counted once, rated (the ratings
of the day's answers) and negative_feedback_share (share of those ratings that are
``down``). The rows replace that day's rows in the monitoring metrics table. Alarms,
over the whole window: out-of-domain rate above ``max_out_of_domain_rate`` (none when
the rate is null), negative feedback above ``max_negative_feedback_share``, p95 latency
above ``max_latency_p95_ms``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

import mlflow
import numpy as np
import pandas as pd
from pyspark.sql import functions as F

from ...runtime.context import Context
from ...runtime.frames import to_pandas
from ...runtime.task_values import publish
from ...runtime.tracking import configure_mlflow
from ...settings_file import ConfigError
from ..pipeline import SCORE_TAG
from ..serving import CHANNEL, CHANNEL_TAG
from ..settings_schema import MonitoringSection, check_monitoring

METRICS_SCHEMA = (
    "day date, answers long, latency_p50_ms double, latency_p95_ms double, "
    "out_of_domain_rate double, rated long, negative_feedback_share double, computed_at timestamp"
)


def answered(ctx: Context, since: datetime, until: datetime) -> pd.DataFrame:
    """The ``ask`` traces started in ``[since, until)`` that ended with an answer (status
    OK): trace_id, day (date), latency_ms, best_score.

    A trace whose question raised (retriever or generator down) is no answer, as a served
    request answered with an error is none (:func:`served`): counted, it would add its
    time to the latency and, without a retrieval score, an out-of-domain question.
    best_score is the trace tag ``best_retrieval_score`` the pipeline sets (0.0 if absent).
    """
    experiment = configure_mlflow(ctx.settings)
    start, end = (int(t.timestamp() * 1000) for t in (since, until))
    traces = mlflow.search_traces(
        locations=[experiment],
        filter_string=(
            f"tags.{CHANNEL_TAG} = '{CHANNEL}' AND trace.status = 'OK' "
            f"AND trace.timestamp_ms >= {start} AND trace.timestamp_ms < {end}"
        ),
        include_spans=False,
        flush=True,
    )
    columns = ["trace_id", "day", "latency_ms", "best_score"]
    if traces.empty:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame(
        {
            "trace_id": traces.trace_id,
            "day": pd.to_datetime(traces.request_time, unit="ms", utc=True).dt.date,
            "latency_ms": traces.execution_duration.astype(float),
            "best_score": [float((t or {}).get(SCORE_TAG, 0.0)) for t in traces.tags],
        }
    )[columns]


def served(ctx: Context, since: datetime, until: datetime) -> pd.DataFrame:
    """The answers of the online model requested in ``[since, until)``, from the inference
    table ``tables.inference_table`` when online serving is included, in
    :func:`answered`'s columns: one row per answer (``predictions`` entry) of each
    request answered with HTTP 200; trace_id None (a served answer has no trace to
    rate), day (request_date, UTC), latency_ms (the
    request's execution_duration_ms, for each of its answers), best_score (the answer's,
    0.0 if absent). No rows without that setting or table; a response that is not JSON
    with a list of ``predictions`` gives none.
    """
    columns = ["trace_id", "day", "latency_ms", "best_score"]
    settings = ctx.settings
    table = settings.table("inference_table") if "inference_table" in settings.tables else None
    if table is None or not ctx.tables.exists(table):
        return pd.DataFrame(columns=columns)
    at = F.col("request_time")
    requests = ctx.tables.read(table).where(
        (F.col("status_code") == 200) & (at >= F.lit(since)) & (at < F.lit(until))
    )
    rows = []
    for request in to_pandas(
        requests.select("request_date", "execution_duration_ms", "response")
    ).itertuples():
        for answer in _predictions(request.response):
            score = answer.get("best_score") if isinstance(answer, dict) else None
            latency = float(request.execution_duration_ms)
            rows.append((None, request.request_date, latency, float(score or 0.0)))
    return pd.DataFrame(rows, columns=columns)


def _predictions(response: str | None) -> list:
    """The ``predictions`` list of a scoring server's JSON ``response``; [] for another."""
    try:
        found = json.loads(response or "").get("predictions")
    except (ValueError, AttributeError):
        return []
    return found if isinstance(found, list) else []


def window_start(now: datetime, days: int) -> datetime:
    """The start of the monitoring window: midnight UTC of the first of the ``days`` UTC
    days that end with ``now``'s day (``now`` timezone-aware). Every day in the window
    is read from its start, so its stored row always counts the whole day so far."""
    first = now.astimezone(UTC).date() - timedelta(days=days - 1)
    return datetime.combine(first, time.min, tzinfo=UTC)


def ratings_of(answers: pd.DataFrame, feedback: pd.DataFrame) -> pd.Series:
    """The ratings (``up`` or ``down``, one per trace and user) given to ``answers``."""
    return feedback[feedback.trace_id.isin(answers.trace_id)].rating


def negative_share(ratings: pd.Series) -> float:
    """Share of ``ratings`` that are ``down``; 0.0 without ratings."""
    return float((ratings == "down").mean()) if len(ratings) else 0.0


def out_of_domain_rate(best_scores: pd.Series, threshold: float | None) -> float | None:
    """Share of ``best_scores`` below ``threshold`` (``monitoring.out_of_domain_score``);
    None when ``threshold`` is None (not calibrated)."""
    return None if threshold is None else float((best_scores < threshold).mean())


def daily_figures(
    answers: pd.DataFrame, feedback: pd.DataFrame, threshold: float | None
) -> pd.DataFrame:
    """Per-day figures (see module doc) from :func:`answered` rows (one per trace) and
    feedback rows (trace_id, rating; one per trace and user). Out: day, answers,
    latency_p50_ms, latency_p95_ms, out_of_domain_rate (None when ``threshold`` is),
    rated, negative_feedback_share."""
    rows = []
    for day, group in answers.groupby("day"):
        ratings = ratings_of(group, feedback)
        rows.append(
            {
                "day": day,
                "answers": int(len(group)),
                "latency_p50_ms": float(np.percentile(group.latency_ms, 50)),
                "latency_p95_ms": float(np.percentile(group.latency_ms, 95)),
                "out_of_domain_rate": out_of_domain_rate(group.best_score, threshold),
                "rated": int(len(ratings)),
                "negative_feedback_share": negative_share(ratings),
            }
        )
    return pd.DataFrame(rows)


def alarms(answers: pd.DataFrame, feedback: pd.DataFrame, limits: MonitoringSection) -> list[str]:
    """One line per alarm over the whole window (see module doc); [] without answers.

    ``answers``: rows of :func:`answered`; ``feedback``: trace_id, rating; ``limits``:
    the checked ``monitoring`` section.
    """
    if answers.empty:
        return []
    found = []
    rate = out_of_domain_rate(answers.best_score, limits.out_of_domain_score)
    if rate is not None and rate > limits.max_out_of_domain_rate:
        found.append(
            f"out_of_domain_rate {rate:.2f} > max_out_of_domain_rate "
            f"{limits.max_out_of_domain_rate}"
        )
    negative = negative_share(ratings_of(answers, feedback))
    if negative > limits.max_negative_feedback_share:
        found.append(
            f"negative_feedback_share {negative:.2f} > max_negative_feedback_share "
            f"{limits.max_negative_feedback_share}"
        )
    p95 = float(np.percentile(answers.latency_ms, 95))
    if p95 > limits.max_latency_p95_ms:
        found.append(f"latency_p95_ms {p95:.0f} > max_latency_p95_ms {limits.max_latency_p95_ms:g}")
    return found


def run(ctx: Context, now: datetime | None = None) -> dict:
    """Compute and store the window's daily figures; return them with the alarms.

    ``now`` (timezone-aware; default the current time) sets the window: its UTC day is
    the window's last, and traces after that day are not read. The ``monitoring``
    limits are checked first (ConfigError naming the key), and the figures and alarms
    are computed before the one write, so a bad limit writes nothing. Raises
    ValueError when ``now`` is naive. Returns window_start, answers (of every channel),
    served (those of them from the inference table, read when online serving is
    included; else 0), days (the daily rows), alarms (list of str), metrics_written and
    out_of_domain_score (the threshold used; None: no out-of-domain rate, so the summary
    shows why).
    Publishes the task value ``alarm`` ("true"/"false").
    """
    settings = ctx.settings
    limits = check_monitoring(settings.monitoring, settings.env, ConfigError)
    feedback_table = settings.table("feedback")
    metrics_table = settings.table("monitoring_metrics")
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now: must be timezone-aware (a naive time has no UTC day)")
    since = window_start(now, limits.window_days)
    until = window_start(now, 1) + timedelta(days=1)
    online = served(ctx, since, until)
    answers = pd.concat(
        [frame for frame in (answered(ctx, since, until), online) if not frame.empty] or [online],
        ignore_index=True,
    )
    feedback = (
        to_pandas(ctx.tables.read(feedback_table).select("trace_id", "rating"))
        if ctx.tables.exists(feedback_table)
        else pd.DataFrame(columns=["trace_id", "rating"])
    )
    days = daily_figures(answers, feedback, limits.out_of_domain_score)
    found = alarms(answers, feedback, limits)
    if not days.empty:
        days["computed_at"] = pd.Timestamp(now).tz_convert(None)
        frame = ctx.spark.createDataFrame(days, METRICS_SCHEMA)
        ctx.tables.upsert(frame, metrics_table, ["day"])
    publish(settings, "alarm", "true" if found else "false")
    return {
        "window_start": since.isoformat(),
        "answers": int(len(answers)),
        "served": int(len(online)),
        "days": days.drop(columns="computed_at", errors="ignore").to_dict("records"),
        "alarms": found,
        "metrics_written": int(len(days)),
        "out_of_domain_score": limits.out_of_domain_score,
    }
