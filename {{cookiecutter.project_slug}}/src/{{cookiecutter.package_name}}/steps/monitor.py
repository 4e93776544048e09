"""Step 7, monitor: each model version's predictions against that version's training data.

The scoring window (``windows.scoring``) of every prediction source
(``monitoring/sources.py``: ``batch``, and the streaming and online tables when they
are rendered and exist) is split by source and by the
``model_version`` that produced each row. Each (source, version) is compared with
the version's training-data profile, logged by train as ``data_profile.json``
(see data_profile.py), never with today's tables. Figures and their rules are in
``monitoring/figures.py``: drift (PSI, KS statistic, MAE on labelled rows),
data_quality (null share, rows per day) and insufficient_data. Only drift of the
champion version's rows sets ``retraining_required`` (:func:`retraining_required`).
The rows-per-day rule is checked on each source's rows over all its versions (model
version ``*``): a champion moved inside the window splits the rows between two
versions, and neither part alone is the source's volume. A source with the rule whose
table does not exist yet is checked with 0 rows.

Figures go to the monitoring metrics table, one row per figure: window_start,
window_end (timestamps UTC), source, model_version (string; ``none`` for a source
without rows in the window, ``*`` for its figures over all versions), computed_at,
column, metric, value (double, null when it cannot be computed), threshold, kind,
violation (boolean), day (date, UTC, on per-day error rows only). A rerun replaces every
row of the same window (same start and end) with its own: the window's rows are always
those of its latest run, all with one computed_at. A version whose predictions of a
source in the window were replaced since (scored again by a new champion) keeps no figures
for that source there: they described rows the source no longer holds, and its row count
would no longer add up to the source's (``*``); the earlier ``monitor`` runs in MLflow keep
its window figures (metrics) and report. Other windows' rows are left alone.
Every run is also an MLflow run named ``monitor`` with the figures as metrics
and the HTML report ``drift_report.html``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import mlflow
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ..checks import check_frame, expectations
from ..config import Settings, Window, instant_sql
from ..features.training_set import window_predicate
from ..monitoring.baseline import load_baseline
from ..monitoring.figures import (
    ALL_VERSIONS,
    DRIFT,
    KINDS,
    column_figures,
    count_figures,
    error_figures,
    group_name,
    source_count_figure,
    version_order,
)
from ..monitoring.report import render_report
from ..monitoring.settings import MonitoringSettings, monitoring_settings
from ..monitoring.sources import prediction_sources
from ..registry import version_by_alias
from ..runtime.context import Context
from ..runtime.frames import to_pandas
from ..runtime.side_by_side import each_at_once
from ..runtime.task_values import publish
from ..runtime.tracking import client

NO_VERSION = "none"
METRICS_SCHEMA = T.StructType(
    [
        T.StructField("window_start", T.TimestampType()),
        T.StructField("window_end", T.TimestampType()),
        T.StructField("source", T.StringType()),
        T.StructField("model_version", T.StringType()),
        T.StructField("computed_at", T.TimestampType()),
        T.StructField("column", T.StringType()),
        T.StructField("metric", T.StringType()),
        T.StructField("value", T.DoubleType()),
        T.StructField("threshold", T.DoubleType()),
        T.StructField("kind", T.StringType()),
        T.StructField("violation", T.BooleanType()),
        T.StructField("day", T.DateType()),
    ]
)


def window_rows(
    ctx: Context, sources: dict[str, DataFrame], window: Window, columns: list[str]
) -> pd.DataFrame:
    """Rows of every prediction source (name -> DataFrame) in ``window``, with labels, as pandas.

    Every source is checked against the predictions table's expectations first, the
    sources side by side (:func:`..runtime.side_by_side.each_at_once`): of several
    refused, the DataCheckError of the first in the order of ``sources`` is raised (it
    names the source), with a note per other. Out: ``source``, ``model_version``, the
    contract's event timestamp, ``columns``, ``prediction`` and the label (null until
    known, from the contract's entity table by the entity keys).
    """
    contract = ctx.settings.contract
    keys, event = contract.entity_keys, contract.event_timestamp
    expected = expectations(contract)["predictions"]

    def check(source: str, frame: DataFrame) -> None:
        check_frame(frame, f"{source} predictions", expected)

    each_at_once(sources, check, ctx.spark)
    frames = [
        frame.where(window_predicate(event, window)).select(
            F.lit(source).alias("source"), *keys, "model_version", event, *columns, "prediction"
        )
        for source, frame in sources.items()
    ]
    union = frames[0]
    for frame in frames[1:]:
        union = union.unionByName(frame)
    labels = ctx.tables.read(ctx.settings.table(contract.entity_table), "the ingest step")
    joined = union.join(labels.select(*keys, contract.label), keys, "left")
    return to_pandas(joined.drop(*keys))


def group_figures(
    source: str,
    version: str,
    rows: pd.DataFrame,
    baseline,
    columns: list[str],
    config: MonitoringSettings,
    settings: Settings,
) -> tuple[list[dict], dict]:
    """Every figure of one (source, version) group: columns, counts and error.

    In: ``source`` (a prediction source name, e.g. ``batch``) and ``version`` (the model
    version that scored the rows, a string); ``rows``, pandas rows of that group from
    :func:`window_rows` (``columns``, ``prediction``, the contract's label, null until
    known, and event timestamp, UTC); ``baseline``, the version's training profile and
    validation MAE (:class:`..monitoring.baseline.Baseline`), or None when it has none
    (no drift figures, no MAE limit then); ``columns``, the model inputs; ``config``,
    the monitoring settings. The group's ``row_count`` has no rule here: the rows-per-day
    rule is the source's, over all its versions (:func:`source_figure`).

    Returns (figures, dicts of :func:`..monitoring.figures.figure` with ``source`` and
    ``model_version`` added; comparisons by column for the report).
    """
    profile = baseline.profile if baseline else None
    figures, comparisons = column_figures(profile, rows, [*columns, "prediction"], config)
    figures += count_figures(len(rows), profile)
    mae = baseline.validation_mae if baseline else None
    limit = None if mae is None else mae * (1 + config.max_mae_increase)
    contract = settings.contract
    figures += error_figures(
        rows.dropna(subset=[contract.label]),
        limit,
        label=contract.label,
        event_timestamp=contract.event_timestamp,
        classification=contract.is_classification,
    )
    return [{**f, "source": source, "model_version": version} for f in figures], comparisons


def source_figure(source: str, rows: int, config: MonitoringSettings, days: float) -> dict:
    """The ``row_count`` of ``source`` over all its versions (model version ``*``): its
    ``rows`` in the window against ``config.min_rows_per_day[source]`` times ``days``, the
    window's length in days (:func:`..monitoring.figures.source_count_figure`)."""
    found = source_count_figure(rows, days, config.min_rows_per_day.get(source))
    return {**found, "source": source, "model_version": ALL_VERSIONS}


def replace_predicate(window: Window) -> str:
    """SQL predicate of every metrics row of ``window`` (its start and end, as instants)."""
    return f"window_start = {instant_sql(window.start)} AND window_end = {instant_sql(window.end)}"


def _metric_name(f: dict) -> str:
    column = f["column"].replace("*", "window")
    return f"{group_name(f['source'], f['model_version'])}/{f['metric']}.{column}"


def log_to_mlflow(figures: list[dict], comparisons: dict, window: Window) -> str:
    """One MLflow run ``monitor``: the window as parameters, the window-level figures as
    metrics named ``<source>/v<version>/<metric>.<column>`` (``*`` written ``window``;
    ``<source>/<metric>.<column>`` for model version ``*``), ``violations`` per kind, and
    ``drift_report.html``. Returns the run id.
    """
    metrics = {
        _metric_name(f): f["value"] for f in figures if f["day"] is None and f["value"] is not None
    }
    for kind in KINDS:
        metrics[f"violations.{kind}"] = float(
            sum(f["violation"] and f["kind"] == kind for f in figures)
        )
    title = f"Monitoring {window.start:%Y-%m-%d %H:%M} to {window.end:%Y-%m-%d %H:%M} UTC"
    with mlflow.start_run(run_name="monitor") as active:
        mlflow.set_tag("step", "monitor")
        mlflow.log_params(
            {
                "window_start": f"{window.start:%Y-%m-%dT%H:%M}",
                "window_end": f"{window.end:%Y-%m-%dT%H:%M}",
            }
        )
        mlflow.log_metrics(metrics)
        mlflow.log_text(render_report(figures, comparisons, title), "drift_report.html")
    return active.info.run_id


def retraining_required(broken: list[dict], champion: str | None) -> bool:
    """Whether a figure of kind drift among the violations ``broken`` (figures of
    :mod:`..monitoring.figures`) is one of the ``champion`` version's rows (a string;
    None: no champion, so nothing to retrain for).

    Other versions' drift is reported, never acted on: a version retired (replaced or
    rolled back from) keeps in the window the rows it scored before the move (a stream
    keeps the prediction that first scored each flight), and retraining for them would
    not change the model that serves.
    """
    return champion is not None and any(
        f["kind"] == DRIFT and f["model_version"] == champion for f in broken
    )


def run(ctx: Context) -> dict:
    """Compute the figures of ``windows.scoring`` per source and model version, and write them.

    Returns metrics_written, groups (``<source>/v<version>`` and its rows),
    violations (``<source>/v<version> <column>.<metric>=<value> (<kind>)``; ``<source>``
    alone for a figure over all its versions),
    violations_by_kind, retraining_required (a drift violation of the champion version's
    rows: :func:`retraining_required`) and the
    MLflow run id. Raises ConfigError for a bad ``monitoring`` section,
    MissingTableError when a source table or the entity table is missing,
    DataCheckError when a source breaks the predictions table's expectations (the first
    such source's, noting the others': :func:`window_rows`), before anything is written.
    """
    settings = ctx.settings
    config = monitoring_settings(settings)
    window = settings.windows["scoring"]
    columns = settings.contract.feature_columns
    sources = prediction_sources(ctx)
    rows = window_rows(ctx, sources, window, columns)
    ctx.mlflow()
    registry = client()
    days = (window.end - window.start).total_seconds() / 86400
    figures, comparisons = [], {}
    baselines = {}
    groups = []
    for source in sources:
        of_source = rows[rows["source"] == source]
        versions = sorted(of_source["model_version"].unique(), key=version_order)
        versions = versions or [NO_VERSION]
        for version in versions:
            group = of_source[of_source["model_version"] == version]
            if version != NO_VERSION and version not in baselines:
                baselines[version] = load_baseline(registry, settings.model_name, version)
            found, compared = group_figures(
                source, version, group, baselines.get(version), columns, config, settings
            )
            figures += found
            comparisons.update({(source, version, c): v for c, v in compared.items()})
            groups.append((source, version))
        figures.append(source_figure(source, len(of_source), config, days))
    # A source with a rows-per-day rule whose table does not exist yet (nothing served or
    # streamed) has no rows in the window: its rule is checked all the same.
    unserved = [s for s in config.min_rows_per_day if s not in sources]
    figures += [source_figure(source, 0, config, days) for source in unserved]
    # Looked up before anything is written: a registry error leaves the metrics unwritten.
    champion = version_by_alias(registry, settings.model_name, settings.champion_alias)
    now = datetime.now(UTC)
    records = [
        (
            window.start,
            window.end,
            f["source"],
            f["model_version"],
            now,
            f["column"],
            f["metric"],
            f["value"],
            f["threshold"],
            f["kind"],
            f["violation"],
            f["day"],
        )
        for f in figures
    ]
    frame = ctx.spark.createDataFrame(records, METRICS_SCHEMA)
    # The window's rows are this run's: no figure of a version (or a source's ``none``)
    # whose rows the window no longer holds stays beside them.
    ctx.tables.replace_where(frame, config.table, replace_predicate(window))
    broken = [f for f in figures if f["violation"]]
    violations = [
        f"{group_name(f['source'], f['model_version'])} {f['column']}.{f['metric']}="
        + ("null" if f["value"] is None else f"{f['value']:.4g}")
        + f" ({f['kind']})"
        for f in broken
    ]
    retrain = retraining_required(broken, str(champion.version) if champion else None)
    run_id = log_to_mlflow(figures, comparisons, window)
    # The monitoring job's condition task starts retraining when this is "true".
    publish(settings, "retraining_required", "true" if retrain else "false")
    return {
        "metrics_written": len(records),
        "groups": {
            group_name(s, v): int(((rows.source == s) & (rows.model_version == v)).sum())
            for s, v in groups
        },
        "violations": violations,
        "violations_by_kind": {k: sum(f["kind"] == k for f in broken) for k in KINDS},
        "retraining_required": retrain,
        "mlflow_run_id": run_id,
        "rows": {config.table: ctx.tables.count(config.table)},
    }
