"""The point-in-time lookup never joins a feature row from after the event."""

from __future__ import annotations

from datetime import timedelta

import pytest

from {{ cookiecutter.package_name }}.features.point_in_time import point_in_time_lookup

from .conftest import utc

pytestmark = pytest.mark.spark


def _looked_up(spark, spine_rows, feature_rows, hours=3):
    spine = spark.createDataFrame(spine_rows, "id string, origin string, ts timestamp")
    features = spark.createDataFrame(
        feature_rows, "origin string, feature_ts timestamp, value double"
    )
    return point_in_time_lookup(
        spine,
        features,
        spine_id="id",
        spine_ts="ts",
        entity_keys=["origin"],
        feature_ts="feature_ts",
        tolerance=timedelta(hours=hours),
    )


def _lookup(spark, spine_rows, feature_rows, hours=3):
    out = _looked_up(spark, spine_rows, feature_rows, hours)
    return {row["id"]: row["value"] for row in out.collect()}


def test_a_row_stamped_after_the_event_is_not_joined(spark):
    got = _lookup(
        spark,
        [("a", "EWR", utc(2013, 1, 1, 10, 30))],
        [("EWR", utc(2013, 1, 1, 10, 31), 99.0), ("EWR", utc(2013, 1, 1, 9, 0), 1.0)],
    )
    assert got == {"a": 1.0}


def test_the_latest_earlier_row_is_picked_and_ties_at_the_event_count(spark):
    got = _lookup(
        spark,
        [("a", "EWR", utc(2013, 1, 1, 10, 0)), ("b", "JFK", utc(2013, 1, 1, 12, 0))],
        [
            ("EWR", utc(2013, 1, 1, 8, 0), 1.0),
            ("EWR", utc(2013, 1, 1, 9, 0), 2.0),
            ("EWR", utc(2013, 1, 1, 10, 0), 3.0),  # stamped exactly at the event: known
            ("JFK", utc(2013, 1, 1, 11, 0), 7.0),
            # Another entity's row, newer than JFK's and before b's event: never b's.
            ("EWR", utc(2013, 1, 1, 11, 30), 4.0),
        ],
    )
    assert got == {"a": 3.0, "b": 7.0}


def test_rows_older_than_the_tolerance_are_ignored_and_spine_rows_are_kept(spark):
    got = _lookup(
        spark,
        [("a", "EWR", utc(2013, 1, 1, 10, 0)), ("b", "LGA", utc(2013, 1, 1, 10, 0))],
        [("EWR", utc(2013, 1, 1, 6, 59), 5.0)],
        hours=3,
    )
    assert got == {"a": None, "b": None}


def test_matches_across_a_bucket_boundary(spark):
    # 3-hour buckets start at 00:00, 03:00, ...; the event at 03:10 must still see 02:00.
    got = _lookup(
        spark,
        [("a", "EWR", utc(2013, 1, 1, 3, 10))],
        [("EWR", utc(2013, 1, 1, 2, 0), 8.0), ("EWR", utc(2013, 1, 1, 0, 5), 1.0)],
    )
    assert got == {"a": 8.0}


def test_spine_rows_sharing_an_id_come_out_as_one(spark):
    # The scoring steps check the ids on the spine: the output cannot show them shared.
    out = _looked_up(
        spark,
        [("a", "EWR", utc(2013, 1, 1, 10, 0)), ("a", "JFK", utc(2013, 1, 1, 12, 0))],
        [("EWR", utc(2013, 1, 1, 9, 0), 1.0), ("JFK", utc(2013, 1, 1, 11, 0), 7.0)],
    )
    assert [(r["id"], r["origin"], r["value"]) for r in out.collect()] == [("a", "JFK", 7.0)]
