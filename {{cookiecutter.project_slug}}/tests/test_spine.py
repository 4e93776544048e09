"""The spine holds every column the contract needs, or no step gets past building it."""

from __future__ import annotations

from datetime import datetime, timedelta

import pyarrow as pa
import pytest

from {{ cookiecutter.package_name }}.config import ConfigError
from {{ cookiecutter.package_name }}.features import definitions
from {{ cookiecutter.package_name }}.features.spine import checked_spine, required_columns

from .conftest import CONTRACT, changed_contract

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def bronze_flights(spark, synthetic):
    flights, _ = synthetic
    raw = spark.createDataFrame(pa.Table.from_pandas(flights, preserve_index=False))
    return definitions.to_bronze("flights_bronze", raw)


def test_the_shipped_spine_holds_every_column_the_contract_needs(bronze_flights):
    needs = required_columns(CONTRACT)
    assert set(needs) == {
        *("flight_id", "sched_dep_ts", "prediction_ts", "arr_delay", "origin"),
        *("dest", "carrier", "sched_hour_local", "day_of_week", "distance"),
    }
    spine = checked_spine(bronze_flights, CONTRACT)  # raises if one were missing
    assert spine.columns[: len(CONTRACT.entity_keys)] == CONTRACT.entity_keys
    from_spine = {c for c, f in needs.items() if f == "contract.features, held by no feature table"}
    assert from_spine == {"dest", "carrier", "sched_hour_local", "day_of_week", "distance"}
    # origin is a model input too; the first field that needs it is named
    assert needs["origin"] == "contract.feature_tables.airport_features.primary_keys"
    assert needs["flight_id"] == "contract.entity_keys"
    assert needs["sched_dep_ts"] == "contract.event_timestamp"
    assert needs["prediction_ts"] == "contract.lookup_timestamp"
    assert needs["arr_delay"] == "contract.label"


def _refused(rows, contract) -> str:
    """The ConfigError of :func:`checked_spine` on ``rows`` and ``contract``, checked to be
    one line."""
    with pytest.raises(ConfigError) as refused:
        checked_spine(rows, contract)
    message = str(refused.value)
    assert "\n" not in message
    return message


def test_a_model_input_that_nothing_produces_is_named(bronze_flights):
    contract = changed_contract(CONTRACT, features={**CONTRACT.features, "gate_delay": "numeric"})
    assert _refused(bronze_flights, contract).startswith(
        "the spine of features/definitions.py lacks column gate_delay "
        "(contract.features, held by no feature table); its columns: "
    )


def test_a_label_the_entity_rows_lack_is_one_line_naming_the_field(bronze_flights):
    contract = changed_contract(CONTRACT, label="arr_delay_minutes")
    assert _refused(bronze_flights, contract).startswith(
        "the spine of features/definitions.py cannot be built from the rows of "
        "flights_bronze (the column arr_delay_minutes is contract.label): "
        "[UNRESOLVED_COLUMN"
    )


def test_a_missing_lookup_timestamp_and_join_key_are_named_with_their_fields(bronze_flights):
    table_key, table = next(iter(CONTRACT.feature_tables.items()))
    contract = changed_contract(
        CONTRACT,
        lookup_timestamp="decided_at",
        feature_tables={
            **CONTRACT.model_dump()["feature_tables"],
            table_key: {**table.model_dump(), "primary_keys": ["tail_number"]},
        },
    )
    with pytest.raises(ConfigError, match="lacks columns ") as refused:
        checked_spine(bronze_flights, contract)
    message = str(refused.value)
    assert "decided_at (contract.lookup_timestamp)" in message
    assert f"tail_number (contract.feature_tables.{table_key}.primary_keys)" in message


def test_an_evening_flight_is_looked_up_at_its_utc_instant_on_its_local_weekday(spark, synthetic):
    """A departure at 20:30 on Saturday 5 January in New York is 01:30 UTC on Sunday 6:
    timestamps (and so windows and point-in-time lookups) are UTC, the day of week and
    hour the model reads are the local ones the source gives."""
    flights, _ = synthetic
    evening = flights.head(1).assign(
        day=5, hour=20, minute=30, sched_dep_time=2030, time_hour="2013-01-06T01:00:00Z"
    )
    raw = spark.createDataFrame(pa.Table.from_pandas(evening, preserve_index=False))
    bronze = definitions.to_bronze("flights_bronze", raw)
    (row,) = checked_spine(bronze, CONTRACT).collect()
    departure = datetime(2013, 1, 6, 1, 30)  # naive UTC: the tests run in UTC (conftest.py)
    lead = timedelta(minutes=int(CONTRACT.parameters["prediction_lead_minutes"]))
    assert (row["sched_dep_ts"], row["prediction_ts"]) == (departure, departure - lead)
    assert row["flight_id"].endswith("-20130106T0130")
    assert (row["day_of_week"], row["sched_hour_local"]) == (7.0, 20.0)  # 7: Saturday
