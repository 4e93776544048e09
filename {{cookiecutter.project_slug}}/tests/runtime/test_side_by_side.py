"""runtime.side_by_side.each_at_once: calls in threads of their own, results in the items'
order, every call ended before an error is raised, and, given a Spark session, each call
wrapped (:func:`side_by_side.inheriting_local_properties`) before any starts. Its Spark
side is tested by the template's tabular use case (its tests/test_job_group.py)."""

from __future__ import annotations

import threading

import pytest

from {{ cookiecutter.package_name }}.runtime import side_by_side
from {{ cookiecutter.package_name }}.runtime.side_by_side import each_at_once


def test_the_calls_run_at_once_and_their_results_keep_the_items_order():
    # Each call waits until all three run: called one after another, the first would wait
    # for the others in vain and the barrier break.
    all_running = threading.Barrier(3, timeout=10)

    def call(key, value):
        all_running.wait()
        return value * 2, threading.current_thread().name

    results = each_at_once({"b": 1, "a": 2, "c": 3}, call)
    assert list(results) == ["b", "a", "c"]
    assert [doubled for doubled, _ in results.values()] == [2, 4, 6]
    assert len({thread for _, thread in results.values()}) == 3


def test_the_first_items_error_is_raised_once_every_call_has_ended_noting_the_others():
    ended = []
    last_raised = threading.Event()

    def call(key, value):
        if key == "last":
            last_raised.set()
            raise ValueError("bad last")
        assert last_raised.wait(10)  # the others raise or end after "last"
        if key == "first":
            raise KeyError("first")
        if key == "third":
            raise RuntimeError("bad third")
        ended.append(key)
        return value

    with pytest.raises(KeyError, match="first") as error:
        each_at_once({"first": 1, "slow": 2, "third": 3, "last": 4}, call)
    assert ended == ["slow"]
    # In the items' order: "third" raises only once "last" has begun raising.
    assert error.value.__notes__ == [
        "third raised too: RuntimeError: bad third",
        "last raised too: ValueError: bad last",
    ]


class Unreadable(Exception):
    """An error whose message cannot be read, as a Py4J error's once its JVM is gone."""

    def __str__(self):
        raise RuntimeError("the JVM is gone")


def test_a_note_is_one_line_and_an_unreadable_message_is_named_so():
    java_stack = (
        "An error occurred while calling o123.save.\n"
        ": org.apache.spark.SparkException: the write failed\n"
        "\tat org.apache.spark.sql.Dataset.save(Dataset.scala:1)\n"
        "\tat java.base/java.lang.Thread.run(Thread.java:833)"
    )
    errors = {"a": ValueError("a refused"), "b": RuntimeError(java_stack), "c": Unreadable()}

    def call(key, value):
        raise errors[key]

    with pytest.raises(ValueError) as error:
        each_at_once({"a": 1, "b": 2, "c": 3}, call)
    assert error.value.__notes__ == [
        "b raised too: RuntimeError: org.apache.spark.SparkException: the write failed",
        "c raised too: Unreadable: (its message could not be read)",
    ]


def test_one_error_raised_by_two_calls_is_raised_without_a_note_about_itself():
    shared = ValueError("shared")

    def call(key, value):
        raise shared

    with pytest.raises(ValueError) as error:
        each_at_once({"a": 1, "b": 2}, call)
    assert error.value is shared
    assert not hasattr(shared, "__notes__")


def test_one_item_is_called_in_this_thread_and_none_calls_nothing():
    here = threading.current_thread()
    assert each_at_once({"only": 1}, lambda key, value: threading.current_thread()) == {
        "only": here
    }
    assert each_at_once({}, lambda key, value: pytest.fail("called")) == {}


def wrapping(monkeypatch, fail_on: int | None = None) -> list[tuple[object, list]]:
    """Replace the Spark wrapper each_at_once applies with one that records, per wrapped
    call, (the session it was given, the keys its wrapper ran), in the order wrapped;
    the ``fail_on``-th wrap (from 1) raises instead."""
    wrapped = []

    def wrap(spark, call):
        if len(wrapped) + 1 == fail_on:
            raise RuntimeError("the session has stopped")
        ran = []
        wrapped.append((spark, ran))

        def wrapper(key, value):
            ran.append(key)
            return call(key, value)

        return wrapper

    monkeypatch.setattr(side_by_side, "inheriting_local_properties", wrap)
    return wrapped


def test_given_a_session_each_call_runs_through_a_wrapper_of_its_own(monkeypatch):
    session = object()  # stands in for a SparkSession: only passed on to the wrapper
    wrapped = wrapping(monkeypatch)
    results = each_at_once({"a": 1, "b": 2}, lambda key, value: value * 2, session)
    assert results == {"a": 2, "b": 4}
    assert wrapped == [(session, ["a"]), (session, ["b"])]


def test_without_a_session_nothing_is_wrapped(monkeypatch):
    wrapped = wrapping(monkeypatch)
    assert each_at_once({"a": 1, "b": 2}, lambda key, value: value) == {"a": 1, "b": 2}
    assert wrapped == []


def test_a_wrapper_that_cannot_be_made_is_raised_before_any_call_runs(monkeypatch):
    ran = []
    wrapping(monkeypatch, fail_on=2)
    with pytest.raises(RuntimeError, match="^the session has stopped$"):
        each_at_once({"a": 1, "b": 2}, lambda key, value: ran.append(key), object())
    assert ran == []
