"""Local online serving on the synthetic flights: same predictions as batch inference, clear
4xx errors, and every request in the inference table."""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import mlflow
import pandas as pd
import pytest
import requests
from mlflow.pyfunc import scoring_server
from pandas.testing import assert_frame_equal

from {{ cookiecutter.package_name }}.checks import DataCheckError, check_frame, expectations
from {{ cookiecutter.package_name }}.config import ConfigError, instant_sql, load_settings
from {{ cookiecutter.package_name }}.parts import function, merged
from {{ cookiecutter.package_name }}.registry import CHAMPION, model_uri
from {{ cookiecutter.package_name }}.runtime.context import Context
from {{ cookiecutter.package_name }}.runtime.tables import Tables
from {{ cookiecutter.package_name }}.serving import server
from {{ cookiecutter.package_name }}.serving.inference_table import (
    InferenceLog,
    log_row,
    read_unwritten,
    unwritten_folder,
)
from {{ cookiecutter.package_name }}.serving.online_predictions import (
    latest_online_predictions,
    online_predictions,
    request_frame,
)
from {{ cookiecutter.package_name }}.serving.request_forms import (
    empty_form,
    json_body,
    missing_from,
)

from .conftest import (
    CONTRACT,
    ENTITY_KEY,
    EVENT_TIME,
    FEATURES,
    local_settings,
    private_copy,
    settings_file,
    utc,
)
from .mlflow_stores import registry
from .serving_checks import (
    check_log_batches,
    check_make_clean_keeps_requests_serve_kept,
    check_unwritten_rows_are_kept_for_the_next_log,
)

pytestmark = pytest.mark.spark
TIMEOUT = 30


def payload(rows: list[dict]) -> dict:
    """A ``dataframe_records`` request for prediction-table rows: key, event time and inputs."""
    drop = {"prediction", "model_version", "scored_at"}
    records = []
    for row in rows:
        record = {k: v for k, v in row.items() if k not in drop}
        record[EVENT_TIME] = record[EVENT_TIME].isoformat()
        records.append(record)
    return {"dataframe_records": records}


def post(running, body) -> requests.Response:
    """POST ``body`` (a dict as JSON, or raw text) to the server's /invocations."""
    data = body if isinstance(body, str) else json.dumps(body)
    return requests.post(
        f"{running.url}/invocations",
        data=data,
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT,
    )


@pytest.fixture(scope="module")
def served(trained_scored, tmp_path_factory):
    """(ctx, 120 batch prediction rows) on a copy of the trained synthetic state whose
    scoring window was scored by batch inference, its server logging every 500 rows or
    600 s (so only :meth:`stop` flushes the log of a server started on it)."""
    scored = trained_scored[0]
    ctx = private_copy(
        scored,
        tmp_path_factory.mktemp("serving") / "state",
        raw={
            **scored.settings.raw,
            "serving": {
                **scored.settings.raw["serving"],
                "log_flush_rows": 500,
                "log_flush_seconds": 600,
            },
        },
    )
    rows = [
        r.asDict()
        for r in ctx.tables.read(ctx.settings.table("predictions"))
        .orderBy(ENTITY_KEY)
        .limit(120)
        .collect()
    ]
    return ctx, rows


@pytest.fixture
def running(served):
    """A server on the ``served`` state for one test, stopped after it unless it was."""
    started = server.start(served[0], port=0)
    yield started
    if started.thread.is_alive():
        started.stop()


def test_served_predictions_equal_batch_inference_and_are_logged(served, running, monkeypatch):
    ctx, rows = served
    singles = rows[:20]
    for row in singles:
        answer = post(running, payload([row]))
        assert answer.status_code == 200, answer.text
        assert abs(answer.json()["predictions"][0] - row["prediction"]) < 1e-9
    block = rows[20:120]
    answer = post(running, payload(block))
    assert answer.status_code == 200, answer.text
    served_predictions = answer.json()["predictions"]
    assert len(served_predictions) == 100
    errors = [abs(a - r["prediction"]) for a, r in zip(served_predictions, block, strict=True)]
    assert max(errors) < 1e-9
    # MLflow's other request forms, which Databricks Model Serving accepts too: the same
    # predictions, and online_predictions reads them back from the log like the others.
    records = payload(rows[:2])["dataframe_records"]
    columns = list(records[0])
    split = {"columns": columns, "data": [[r[c] for c in columns] for r in records]}
    for other, scored in (
        ({"dataframe_split": split}, rows[:2]),
        ({"instances": records}, rows[:2]),
        ({"inputs": {c: [r[c] for r in records] for c in columns}}, rows[:2]),
    ):
        answer = post(running, other)
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"] == pytest.approx(
            [r["prediction"] for r in scored], abs=1e-9
        )

    numeric = CONTRACT.numeric
    signature = mlflow.models.get_model_info(
        model_uri(ctx.settings.model_name, running.model_version)
    ).signature.inputs
    optional = [spec.name for spec in signature.inputs if not spec.required]
    assert optional  # inputs null in some training rows (wind_gust in the synthetic data)
    both = [c for c in signature.input_names() if c in (numeric[0], optional[0])]
    for left_out in ([optional[0]], both):  # MLflow named a missing required input only
        record = payload(rows[:1])["dataframe_records"][0]
        sent = {k: v for k, v in record.items() if k not in left_out}
        forms = [
            {"dataframe_records": [sent]},
            {"dataframe_split": {"columns": list(sent), "data": [list(sent.values())]}},
            {"instances": [sent]},
            {"inputs": {k: [v] for k, v in sent.items()}},
        ]
        for form in forms if left_out != both else forms[:1]:
            answer = post(running, form)
            assert answer.status_code == 400, (form, answer.text)
            assert answer.json()["message"].startswith(
                f"missing model input(s) {', '.join(left_out)}: send every input column"
            )
    wrong_type = payload(rows[:1])
    wrong_type["dataframe_records"][0][numeric[-1]] = "not a number"
    answer = post(running, wrong_type)
    assert answer.status_code == 400, answer.text
    assert numeric[-1] in answer.json()["message"], answer.text
    answer = post(running, "{not json")
    assert 400 <= answer.status_code < 500
    for empty in (
        {"dataframe_records": []},
        {"dataframe_split": {"columns": columns, "data": []}},
        {"instances": []},
        {"inputs": []},
    ):
        answer = post(running, empty)
        assert answer.status_code == 400, (empty, answer.text)
        assert answer.json()["message"] == (
            f"no rows to score: {next(iter(empty))} holds none; send at least one row"
        )
    # No Content-Type header (what requests sends for a str body): refused naming the
    # header, and logged (MLflow's server failed on it: HTTP 500, and no row was logged).
    answer = requests.post(
        f"{running.url}/invocations", data=json.dumps(payload(rows[:1])), timeout=TIMEOUT
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["message"] == (
        "missing Content-Type header: send application/json (or text/csv) with the body"
    )
    assert post(running, payload(rows[:1])).status_code == 200  # still serving
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    (example,) = re.findall(r"^curl -s localhost:\d+/invocations .* -d '(.+)'$", readme, re.M)
    answer = post(running, example)  # the README's request, as a user pastes it
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["predictions"]) == 1
    csv_rows = pd.DataFrame(payload(rows[:1])["dataframe_records"]).to_csv(index=False)
    answer = requests.post(
        f"{running.url}/invocations",
        data=csv_rows,
        headers={"Content-Type": "text/csv"},
        timeout=TIMEOUT,
    )
    assert answer.status_code == 200, answer.text  # answered, logged, not read back as rows
    # README: the champion is resolved once per server start. With the alias gone (a
    # rollback that left none), the running server still answers with the version it serves.
    client, name = registry(ctx), ctx.settings.model_name
    client.delete_registered_model_alias(name, CHAMPION)
    try:
        assert post(running, payload(rows[:1])).status_code == 200
    finally:
        client.set_registered_model_alias(name, CHAMPION, str(running.model_version))

    def failing(*args):
        raise RuntimeError("the scoring server failed")

    # The scoring server failing on a request (an exception it does not catch): HTTP 500,
    # logged like every answer.
    with monkeypatch.context() as patched:
        patched.setattr(scoring_server, "invocations", failing)
        assert post(running, payload(rows[:1])).status_code == 500
    running.stop()
    assert running.log.commits == 1  # 41 requests, one Delta commit
    log = ctx.tables.read(ctx.settings.table("inference_table"))
    logged = sorted(log.collect(), key=lambda r: r["request_time"])
    assert [r["status_code"] for r in logged] == [200] * 24 + [400] * 12 + [200] * 4 + [500]
    assert {r["served_model_version"] for r in logged} == {"1"}
    assert all(r["execution_duration_ms"] >= 0 for r in logged)
    first_request = json.loads(logged[0]["request"])["dataframe_records"][0]
    assert first_request[ENTITY_KEY] == rows[0][ENTITY_KEY]

    answered = online_predictions(ctx).collect()
    # 20 + 100 + 2 + 2 + 2 + the last + the README's + the one without a champion alias;
    # the malformed, the CSV and the failed ones are not
    assert len(answered) == 129
    parsed = {}
    for answered_row in answered:
        parsed.setdefault(answered_row[ENTITY_KEY], []).append(answered_row.asDict())
    # rows[0] was sent alone, in the three other forms and twice last; rows[1] alone and in
    # three.
    assert [len(parsed[row[ENTITY_KEY]]) for row in rows] == [6, 4] + [1] * 118
    for row in rows:
        for back in parsed[row[ENTITY_KEY]]:
            assert back[EVENT_TIME] == row[EVENT_TIME] and back["model_version"] == "1"
            assert abs(back["prediction"] - row["prediction"]) < 1e-9
            for column, value in row.items():
                if column not in ("prediction", "scored_at") and isinstance(value, float):
                    same = value == back[column]
                    assert same or (math.isnan(value) and math.isnan(back[column]))


def test_every_request_form_the_scoring_server_answers_gives_the_same_rows():
    """MLflow answers ``inputs`` given as one row's values for models whose signature holds
    every column sent: that row is read back like the other forms' rows."""
    records = [{"origin": "EWR", "distance": 500.0}, {"origin": "JFK", "distance": None}]
    expected = request_frame({"dataframe_records": records})
    assert list(expected.columns) == ["origin", "distance"]
    assert expected["origin"].tolist() == ["EWR", "JFK"]
    assert expected["distance"].iloc[0] == 500.0 and pd.isna(expected["distance"].iloc[1])
    forms = [
        {
            "dataframe_split": {
                "columns": ["origin", "distance"],
                "data": [["EWR", 500.0], ["JFK", None]],
            }
        },
        {"instances": records},
        {"inputs": records},
        {"inputs": {"origin": ["EWR", "JFK"], "distance": [500.0, None]}},
    ]
    for form in forms:
        assert_frame_equal(request_frame(form), expected)
    assert_frame_equal(request_frame({"inputs": records[0]}), expected.iloc[:1])
    with pytest.raises(ValueError, match="dataframe_records, dataframe_split, instances or inputs"):
        request_frame({"rows": records})


def test_a_request_missing_model_inputs_is_told_from_its_json_in_every_named_form():
    """The server's own 400 (:func:`missing_from`) for any named form lacking an input;
    everything it cannot tell is left to MLflow's scoring server."""
    inputs = ["origin", "distance"]
    records = [{"origin": "EWR"}, {"origin": "JFK", "flight_id": "X"}]
    lacking = [
        {"dataframe_records": records},
        {"dataframe_split": {"columns": ["origin"], "data": [["EWR"]]}},
        {"instances": records},
        {"inputs": records},
        {"inputs": {"origin": ["EWR", "JFK"]}},
        {"inputs": {"origin": "EWR"}},
    ]
    for body in lacking:
        sent = json.dumps(body).encode()
        assert missing_from(json_body(sent, "application/json"), inputs) == ["distance"], body
        assert missing_from(json_body(sent, "application/json; charset=UTF-8"), inputs) == [
            "distance"
        ]
    whole = json.dumps({"dataframe_records": [{"origin": "EWR"}, {"distance": 1.0}]}).encode()
    assert missing_from(json_body(whole, "application/json"), inputs) == []  # each sent by some row
    left_to_mlflow = [
        (b'{"inputs": ["a question", "another"]}', "application/json"),  # one-input models
        (b'{"instances": ["a question"]}', "application/json"),
        (b'{"dataframe_split": {"data": [["EWR"]]}}', "application/json"),
        (b'{"dataframe_records": []}', "application/json"),  # no row: empty_form's
        (b'{"dataframe_records": [{"origin": "EWR"}], "inputs": {}}', "application/json"),
        (b"{not json", "application/json"),
        (b'{"dataframe_records": [{"origin": "EWR"}]}', "application/x-www-form-urlencoded"),
        (b'{"dataframe_records": [{"origin": "EWR"}]}', "application/json; charset=latin-1"),
        (b"origin\nEWR\n", "text/csv"),
    ]
    for body, content_type in left_to_mlflow:
        assert missing_from(json_body(body, content_type), inputs) == [], (body, content_type)


def test_a_request_that_sends_no_row_is_told_in_every_named_form():
    """empty_form names the form of a JSON request without rows (the server answers it
    HTTP 400 itself: MLflow would say every input is missing); rows, or a body the server
    reads itself, give None."""
    for form, empty in (
        ("dataframe_records", []),
        ("dataframe_split", {"columns": ["origin"], "data": []}),
        ("instances", []),
        ("inputs", []),
    ):
        assert empty_form(json_body(json.dumps({form: empty}).encode(), "application/json")) == form
    for body, content_type in [
        (b'{"dataframe_records": [{"origin": "EWR"}]}', "application/json"),
        (b'{"dataframe_split": {"columns": ["origin"], "data": [["EWR"]]}}', "application/json"),
        (b'{"inputs": ["a question"]}', "application/json"),
        (b'{"dataframe_records": [], "instances": []}', "application/json"),  # two forms
        (b'{"dataframe_records": []}', "text/csv"),
        (b'{"dataframe_records": []}', "application/json; charset=latin-1"),
        (b"{not json", "application/json"),
        (b"[]", "application/json"),
    ]:
        assert empty_form(json_body(body, content_type)) is None, (body, content_type)


def test_sigterm_stops_serve_forever_and_flushes_the_log_like_ctrl_c(
    served, monkeypatch, tmp_path, capsys
):
    """``kill``, ``docker stop`` and systemd stop a server with SIGTERM: the rows it
    queued are written, as on Ctrl-C, and the previous handler is back afterwards.
    It says when it starts, stops and has stopped, with the number of requests logged."""
    ctx, rows = served
    ctx = private_copy(ctx, tmp_path / "state")
    table = ctx.settings.table("inference_table")
    before = ctx.tables.count(table)
    started, fallback, answered = [], [], []

    def start_and_keep(*args):
        started.append(server_start(*args))
        return started[0]

    def fallback_handler(*_):  # runs only if serve_forever left SIGTERM unhandled
        fallback.append(True)
        raise KeyboardInterrupt

    def request_then_terminate():
        try:
            deadline = time.monotonic() + 120
            while not started and time.monotonic() < deadline:
                time.sleep(0.05)
            answered.append(post(started[0], payload(rows[:3])).status_code)
        finally:  # always: serve_forever must return
            os.kill(os.getpid(), signal.SIGTERM)

    server_start = server.start
    monkeypatch.setattr(server, "start", start_and_keep)
    previous = signal.signal(signal.SIGTERM, fallback_handler)
    try:
        client = threading.Thread(target=request_then_terminate)
        client.start()
        server.serve_forever(ctx, 0)
        client.join(TIMEOUT)
        assert signal.getsignal(signal.SIGTERM) is fallback_handler
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert answered == [200]
    assert fallback == []
    assert not started[0].thread.is_alive()
    assert ctx.tables.count(table) == before + 1  # the request's log row, written on stop
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"serving {ctx.settings.model_name} v1 at {started[0].url}/")
    assert lines[1:] == [
        f"stopping: writing the queued requests to {table}",
        f"stopped; requests logged in {table}: 1",
    ]


def test_a_stop_waits_for_requests_under_way_and_a_client_gone_meanwhile_is_still_answered(
    served, tmp_path, monkeypatch
):
    """Stopping the server (as ``serve`` does on Ctrl-C or SIGTERM) waits for the requests
    being scored: one whose client waits gets its answer, one whose client disconnected
    meanwhile is scored all the same (the disconnect cancels nothing), and both are logged
    with status 200, none with the 499 of a cancelled request."""
    ctx, rows = served
    ctx = private_copy(ctx, tmp_path / "state")
    table = ctx.settings.table("inference_table")
    before = ctx.tables.count(table)
    entered, release = [], threading.Event()
    scoring_app = scoring_server.init

    def held_app(model):
        """MLflow's scoring app, holding each /invocations request until ``release``."""
        app = scoring_app(model)

        async def held(scope, receive, send):
            if scope["type"] == "http" and scope["path"] == "/invocations":
                entered.append(scope["path"])
                await asyncio.to_thread(release.wait, TIMEOUT)
            await app(scope, receive, send)

        return held

    def wait_for(count):
        deadline = time.monotonic() + TIMEOUT
        while len(entered) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(entered) == count

    monkeypatch.setattr(scoring_server, "init", held_app)
    running = server.start(ctx, port=0)
    answers = []
    waiting = threading.Thread(target=lambda: answers.append(post(running, payload(rows[:2]))))
    waiting.start()
    wait_for(1)
    body = json.dumps(payload(rows[2:3])).encode()
    head = f"POST /invocations HTTP/1.1\r\nHost: {server.HOST}\r\n"
    head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    with socket.create_connection((server.HOST, running.port), timeout=TIMEOUT) as gone:
        gone.sendall(head.encode() + body)
        wait_for(2)
    stopping = threading.Thread(target=running.stop)
    stopping.start()
    time.sleep(0.5)
    assert stopping.is_alive()  # waiting for the two requests under way
    release.set()
    stopping.join(TIMEOUT)
    waiting.join(TIMEOUT)
    assert not stopping.is_alive() and not running.thread.is_alive()
    assert [a.status_code for a in answers] == [200]
    assert len(answers[0].json()["predictions"]) == 2
    assert ctx.tables.count(table) == before + 2
    logged = ctx.tables.read(table).orderBy("request_time").collect()[before:]
    assert [r["status_code"] for r in logged] == [200, 200]
    assert ["predictions" in json.loads(r["response"]) for r in logged] == [True, True]


def test_when_the_last_log_write_fails_serve_says_how_many_requests_were_kept_and_where(
    tmp_path, monkeypatch, capsys
):
    ctx = Context(local_settings(tmp_path / "state"))
    log = InferenceLog(ctx)
    for _ in range(2):
        log.add(log_row(b"{}", b"{}", 200, utc(2013, 1, 1), 5, "model", "1"))

    def full_disk(self):
        if self.queued:
            raise OSError("no space left on device")
        return 0

    monkeypatch.setattr(InferenceLog, "flush", full_disk)
    done = threading.Thread(target=lambda: None)
    done.start()
    done.join()  # a server thread that has ended: serve_forever goes straight to stopping
    running = server.RunningServer(SimpleNamespace(), done, log, 0, 1)
    monkeypatch.setattr(server, "start", lambda *args: running)
    with pytest.raises(OSError, match="no space left"):
        server.serve_forever(ctx, 0)
    table = ctx.settings.table("inference_table")
    lines = capsys.readouterr().out.splitlines()  # the log's own retry line may come between
    assert f"stopping: writing the queued requests to {table}" in lines
    assert lines[-1] == (
        f"stopped; requests logged in {table}: 0; not written: 2 "
        f"(kept in {log.kept}; the next serve appends them)"
    )
    first = log.kept
    assert len(first.read_text().splitlines()) == 2

    # The next serve queues them first and says so; its stop fails too: they move to a new
    # kept file, which replaces the first (no copy, no .part left).
    again = InferenceLog(ctx)
    assert again.recover() == 2  # as start() does once the server listens
    monkeypatch.setattr(
        server, "start", lambda *args: server.RunningServer(SimpleNamespace(), done, again, 0, 1)
    )
    with pytest.raises(OSError, match="no space left"):
        server.serve_forever(ctx, 0)
    folder = tmp_path / "state" / "serving" / "unwritten"
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith(
        f"; 2 requests an earlier serve could not log are appended first (from {folder})"
    )
    assert lines[-1] == (
        f"stopped; requests logged in {table}: 0; not written: 2 "
        f"(kept in {again.kept}; the next serve appends them)"
    )
    assert sorted(folder.iterdir()) == [again.kept] and again.kept != first

    # A kept file broken by hand stops the next recovery with the file and line.
    kept = again.kept
    original = kept.read_text()
    kept.write_text(original.replace('"request_time": "', '"request_time": "x'))
    broken = InferenceLog(ctx)
    with pytest.raises(ValueError, match=f"^{re.escape(str(kept))}:1: not an inference-table"):
        broken.recover()
    assert broken.queued == 0 and broken.recovered == 0
    broken.close()
    with pytest.raises(ValueError, match="Invalid isoformat string: 'x2013-01-01"):
        read_unwritten(kept)
    # So is a value of another type than its column's: queued, it would fail every write
    # of that serve, the rows of its new requests with it.
    for column, value, kind in (("status_code", "200", "an integer"), ("request", {}, "text")):
        rows = [json.loads(line) for line in original.splitlines()]
        rows[0][column] = value
        kept.write_text("".join(json.dumps(row) + "\n" for row in rows))
        with pytest.raises(ValueError) as typed:
            read_unwritten(kept)
        assert str(typed.value) == (
            f"{kept}:1: not an inference-table row ({column}: {value!r} is not {kind}); "
            "move the file away to start without its requests"
        )


# A serve whose log thread is stuck in a batch write (as when that write starts Spark)
# as it stops: it keeps the three requests in a file, then waits for that write, and a
# file named "waiting" says so. argv: the local root, then a file of the settings of the
# local environment (conftest.settings_file).
STOPPED_DURING_A_WRITE = """
import pickle, signal, sys, threading, time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

from {{ cookiecutter.package_name }}.runtime.context import Context
from {{ cookiecutter.package_name }}.serving import server
from {{ cookiecutter.package_name }}.serving.inference_table import InferenceLog, log_row

signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started ignoring it
root = Path(sys.argv[1])
root.mkdir(parents=True)
settings = pickle.loads(Path(sys.argv[2]).read_bytes())
serving = dict(settings.raw["serving"], log_flush_rows=2, log_flush_seconds=600)
raw = dict(settings.raw, serving=serving)
ctx = Context(replace(settings, local_root=root, raw=raw))
writing = threading.Event()

def endless_write(log, rows, merge):
    writing.set()
    time.sleep(600)

InferenceLog._write = endless_write
log = InferenceLog(ctx)
started = datetime(2024, 5, 4, 9, tzinfo=UTC)
for n in range(3):
    log.add(log_row(str(n).encode(), b"{}", 200, started, 3, "m", "1"))
    if n == 1:  # the batch is full: the log's thread is writing it
        writing.wait(60)
join = log._thread.join

def announced_join(*args):
    (root / "waiting").touch()
    join(*args)

log._thread.join = announced_join
done = threading.Thread(target=lambda: None)
done.start()
done.join()
running = server.RunningServer(SimpleNamespace(), done, log, 0, 1)
server.start = lambda *args: running
server.serve_forever(ctx, 0)
"""


def test_a_kill_or_a_second_ctrl_c_while_serve_stops_keeps_its_requests_for_the_next(
    tmp_path, monkeypatch
):
    """serve is stopped while its log's thread is in a batch write of two requests and a
    third is queued. A SIGTERM or a SIGKILL then ends it at once: no stop line. A Ctrl-C
    ends it with the stop line, which counts the three requests and names the file. Each
    time the file holds the three, and the next log queues them first and appends them with
    a merge."""
    settings = load_settings("local")
    table = settings.table("inference_table")
    stored = settings_file(settings, tmp_path / "settings")
    children = {}
    for stop in (signal.SIGTERM, signal.SIGKILL, signal.SIGINT):
        root = tmp_path / stop.name
        child = subprocess.Popen(
            [sys.executable, "-c", STOPPED_DURING_A_WRITE, str(root), str(stored)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        children[stop] = (root, child)
    try:
        for stop, (root, child) in children.items():
            deadline = time.monotonic() + 60
            while not (root / "waiting").exists() and child.poll() is None:
                assert time.monotonic() < deadline, f"{stop.name}: the child did not stop"
                time.sleep(0.1)
            child.send_signal(stop)
        ended = {stop: child.communicate(timeout=TIMEOUT) for stop, (_, child) in children.items()}
    finally:
        for _, child in children.values():
            child.kill()

    writes = []  # (merge, requests) of each write of the next logs

    def recorded(log, rows, merge):
        writes.append((merge, [row["request"] for row in rows]))
        return len(rows)

    monkeypatch.setattr(InferenceLog, "_write", recorded)
    for stop, (root, child) in children.items():
        out, err = ended[stop]
        assert child.returncode == -stop, err
        (kept,) = unwritten_folder(SimpleNamespace(local_root=root)).iterdir()
        lines = out.splitlines()
        assert lines[0].startswith("serving ") and lines[1] == (
            f"stopping: writing the queued requests to {table}"
        )
        if stop != signal.SIGINT:
            assert lines[2:] == []
        else:
            assert lines[2:] == [
                f"stopped; requests logged in {table}: 0; not written: 3 "
                f"(kept in {kept}; the next serve appends them)"
            ]
            assert err.splitlines()[-1] == "KeyboardInterrupt"
        assert [row["request"] for row in read_unwritten(kept)] == ["0", "1", "2"]
        later = InferenceLog(Context(local_settings(root)))
        assert later.recover() == 3
        later.close()
        assert (later.written, list(kept.parent.iterdir())) == (3, [])
    assert writes == [(True, ["0", "1", "2"])] * 3


def test_the_start_line_says_request_for_one_kept_request_and_requests_for_two(
    tmp_path, monkeypatch, capsys
):
    """serve's start line counts the requests an earlier serve kept: "1 request ... is"
    for one, "2 requests ... are" for two."""
    ctx = Context(local_settings(tmp_path / "state"))
    folder = tmp_path / "state" / "serving" / "unwritten"
    done = threading.Thread(target=lambda: None)
    done.start()
    done.join()  # a server thread that has ended: serve_forever goes straight to stopping
    for recovered, count, verb in ((1, "1 request", "is"), (2, "2 requests", "are")):
        log = SimpleNamespace(table="t", recovered=recovered, written=recovered, close=dict)
        running = server.RunningServer(SimpleNamespace(), done, log, 0, 1)
        monkeypatch.setattr(server, "start", lambda *args, running=running: running)
        server.serve_forever(ctx, 0)
        first = capsys.readouterr().out.splitlines()[0]
        said = f"; {count} an earlier serve could not log {verb} appended first (from {folder})"
        assert first.endswith(said)


def test_a_bad_port_setting_is_named(served):
    ctx, _ = served
    with pytest.raises(ConfigError, match="serving.port"):
        server.configured_port(ctx, 70000)
    assert server.configured_port(ctx) == 5055  # serving.port in conf/config.yml


def test_a_request_is_logged_at_its_instant_when_python_runs_in_new_york(ctx, monkeypatch):
    """The inference table's request_time is the instant the request was answered and
    request_date its UTC date, when the Python process's local time is New York's (the
    steps' Spark session is in UTC)."""
    answered = utc(2013, 1, 1, 3, 30)  # 22:30 on December 31 in New York
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert time.localtime(0).tm_hour == 19  # the Python default is not UTC here
        log = InferenceLog(ctx)
        log.add(log_row(b"{}", b"{}", 200, answered, 5, "model", "1"))
        log.close()
    finally:
        monkeypatch.undo()
        time.tzset()
    assert log.commits == 1
    table = ctx.tables.read(ctx.settings.table("inference_table"))
    at = table.where(f"request_time = {instant_sql(answered)}")
    assert [r["request_date"] for r in at.collect()] == [date(2013, 1, 1)]


def test_the_online_prediction_source_is_one_answer_per_flight_whatever_clients_sent(ctx):
    """Requests the server answered but that break the predictions table's rules (the same
    flight asked twice, in two requests or in one, no flight_id, a numeric flight_id, an
    event time that is not a timestamp) are one row per flight in the online prediction
    source: the latest answer (the later row of a request), keys as text, the answer's
    instant for an unreadable event time, and rows without a key left out. It is the
    ``online`` prediction source that ``serving/part.py`` declares."""
    inputs = {c: "EWR" if c in CONTRACT.categorical else 1.0 for c in FEATURES}
    epoch = 1357030800  # 2013-01-01 09:00 UTC as a number: not a timestamp here
    sent = [  # (answered at, request rows, predictions)
        (utc(2013, 1, 1, 9), [{ENTITY_KEY: "A", EVENT_TIME: "2013-01-01T10:15:00"}], [0.1]),
        (utc(2013, 1, 1, 9, 5), [{EVENT_TIME: "2013-01-01T10:20:00"}], [0.2]),
        (  # a float key beside a row without one; a float epoch beside a missing value
            utc(2013, 1, 1, 9, 10),
            [{ENTITY_KEY: 42.0, EVENT_TIME: float(epoch)}, {}],
            [0.3, 0.35],
        ),
        (
            utc(2013, 1, 1, 9, 12),
            [
                {ENTITY_KEY: "B", EVENT_TIME: "2013-01-01T12:00:00+01:00"},
                {ENTITY_KEY: "C", EVENT_TIME: "now"},  # pandas reads it as the current time
                {ENTITY_KEY: "D", EVENT_TIME: epoch},
            ],
            [0.4, 0.45, 0.46],
        ),
        (utc(2013, 1, 1, 9, 15), [{ENTITY_KEY: "A", EVENT_TIME: "2013-01-01T10:15:00"}], [0.7]),
        (  # the same flight twice in one request: the later row is the answer kept
            utc(2013, 1, 1, 9, 20),
            [
                {ENTITY_KEY: "E", EVENT_TIME: "2013-01-01T11:00:00"},
                {ENTITY_KEY: "E", EVENT_TIME: "2013-01-01T11:30:00"},
            ],
            [0.5, 0.6],
        ),
    ]
    log = InferenceLog(ctx)
    for answered, rows, predictions in sent:
        body = {"dataframe_records": [{**row, **inputs} for row in rows]}
        response = json.dumps({"predictions": predictions}).encode()
        log.add(log_row(json.dumps(body).encode(), response, 200, answered, 3, "m", "1"))
    # Two requests for flight F answered at the same instant: the greater request id wins,
    # not the one logged first (which a sort without the tie-break keeps here).
    for request_id, prediction in (("request-a", 0.9), ("request-b", 0.8)):
        flight = {ENTITY_KEY: "F", EVENT_TIME: "2013-01-01T12:00:00", **inputs}
        body = {"dataframe_records": [flight]}
        response = json.dumps({"predictions": [prediction]}).encode()
        row = log_row(json.dumps(body).encode(), response, 200, utc(2013, 1, 1, 9, 25), 3, "m", "1")
        log.add({**row, "databricks_request_id": request_id})
    log.close()
    expected = expectations(CONTRACT)["predictions"]
    every = online_predictions(ctx)
    assert every.count() == 12  # every row answered
    with pytest.raises(DataCheckError, match=ENTITY_KEY):
        check_frame(every, "online", expected)  # what every answer gives

    source = latest_online_predictions(ctx)
    check_frame(source, "online", expected)
    rows = source.toPandas().set_index(ENTITY_KEY).sort_index()  # timestamps naive UTC
    assert list(rows.index) == ["42", "A", "B", "C", "D", "E", "F"]
    assert list(rows["prediction"]) == [0.3, 0.7, 0.4, 0.45, 0.46, 0.6, 0.8]
    assert list(rows["scored_at"]) == [
        pd.Timestamp(f"2013-01-01 09:{minute}")
        for minute in ("10", "15", "12", "12", "12", "20", "25")
    ]
    assert list(rows[EVENT_TIME]) == [  # numbers and "now": the answer's instant
        pd.Timestamp(f"2013-01-01 {at}")
        for at in ("09:10", "10:15", "11:00", "09:12", "09:12", "11:30", "12:00")
    ]
    assert source.columns == every.columns

    # The declared online prediction source is this function, and gives these rows.
    table, target = merged("PREDICTION_SOURCES")["online"]
    assert (table, function(target)) == ("inference_table", latest_online_predictions)
    declared = function(target)(ctx).toPandas().set_index(ENTITY_KEY).sort_index()
    assert_frame_equal(declared, rows)


def test_a_failed_timed_write_is_one_line_on_stderr_and_its_rows_are_written_later(
    ctx, monkeypatch, capsys, tmp_path
):
    """A Spark write that fails in the log's thread (here: the table's folder is under a
    file) prints the Java exception's message as one line, without its stack trace, and
    keeps the row for the next write."""
    serving = {**ctx.settings.raw["serving"], "log_flush_rows": 1, "log_flush_seconds": 600}
    ctx = Context(replace(ctx.settings, raw={**ctx.settings.raw, "serving": serving}))
    table = ctx.settings.table("inference_table")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    printed = ""
    with monkeypatch.context() as patch:
        patch.setattr(Tables, "path", lambda tables, name: blocker / "table")
        log = InferenceLog(ctx)
        log.add(log_row(b"{}", b"{}", 200, utc(2024, 5, 3, 8), 4, "m", "1"))  # fills a batch
        deadline = time.monotonic() + 120
        while "write failed" not in printed and time.monotonic() < deadline:
            time.sleep(0.2)
            printed += capsys.readouterr().err
    log.close()
    assert (log.commits, ctx.tables.count(table)) == (1, 1)
    lines = printed.splitlines()
    assert len(lines) == 1, printed
    prefix = f"inference table {table}: write failed, will retry: "
    assert lines[0].startswith(prefix + "org.apache.spark.sql.delta.DeltaIOException: ")
    assert "DELTA_CANNOT_CREATE_LOG_PATH" in lines[0] and len(lines[0]) <= len(prefix) + 300


def test_close_writes_its_rows_when_the_file_that_keeps_them_cannot_be_written(ctx):
    """README: when the file close() keeps the rows in cannot be written (a full disk),
    the rows still reach the table. Here a plain file stands where the folder of kept
    files goes, so no file can be written there: close() writes the queued row to the
    table, once, and reports nothing kept."""
    serving = {**ctx.settings.raw["serving"], "log_flush_rows": 10, "log_flush_seconds": 600}
    ctx = Context(replace(ctx.settings, raw={**ctx.settings.raw, "serving": serving}))
    table = ctx.settings.table("inference_table")
    folder = unwritten_folder(ctx.settings)
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_text("a file where the folder of kept files goes", encoding="utf-8")
    log = InferenceLog(ctx)
    log.add(log_row(b"{}", b"{}", 200, utc(2024, 5, 3, 8), 4, "m", "1"))
    log.close()
    assert (log.written, log.kept, ctx.tables.count(table)) == (1, None, 1)
    assert folder.read_text(encoding="utf-8") == "a file where the folder of kept files goes"


def test_close_keeps_the_rows_in_a_file_during_its_append_and_warns_on_stderr_if_undeletable(
    ctx, monkeypatch, capsys
):
    """close() writes the queued row to a kept file first, which holds it while the write
    runs, a plain append (no MERGE: no row of an earlier log is queued). The file's
    deletion then fails (unlink refused in the folder of kept files): the row is in the
    table once, the warning is one line on stderr (stdout carries serve's own lines), and
    the file stays; the next log merges its row (a MERGE on the request id) and adds none."""
    serving = {**ctx.settings.raw["serving"], "log_flush_rows": 10, "log_flush_seconds": 600}
    ctx = Context(replace(ctx.settings, raw={**ctx.settings.raw, "serving": serving}))
    table = ctx.settings.table("inference_table")
    folder = unwritten_folder(ctx.settings)
    unlink, write, writes = Path.unlink, InferenceLog._write, []

    def refused_in_folder(path, missing_ok=False):
        if path.parent == folder:
            raise PermissionError(13, "Permission denied", str(path))
        unlink(path, missing_ok=missing_ok)

    def recorded(log, rows, merge):  # (merge, rows of each kept file) as the write starts
        kept = [len(read_unwritten(p)) for p in sorted(folder.glob("*.jsonl"))]
        writes.append((merge, kept))
        return write(log, rows, merge)

    monkeypatch.setattr(InferenceLog, "_write", recorded)
    log = InferenceLog(ctx)
    log.add(log_row(b"{}", b"{}", 200, utc(2024, 5, 3, 8), 4, "m", "1"))
    capsys.readouterr()
    with monkeypatch.context() as patch:
        patch.setattr(Path, "unlink", refused_in_folder)
        log.close()
    printed = capsys.readouterr()
    (left,) = folder.iterdir()
    assert writes == [(False, [1])]
    assert (log.written, ctx.tables.count(table), log.kept) == (1, 1, None)
    assert printed.out == ""
    assert printed.err.splitlines() == [
        f"inference table {table}: {left} not deleted ([Errno 13] Permission denied: "
        f"'{left}'); its rows are in the table, and a later log adds none of them again"
    ]

    later = InferenceLog(ctx)
    assert later.recover() == 1
    later.close()
    assert writes[1:] == [(True, [1])]
    assert (later.written, ctx.tables.count(table), list(folder.iterdir())) == (0, 1, [])


def test_a_serve_starting_while_another_stops_leaves_the_file_of_its_last_append_alone(
    ctx, monkeypatch
):
    """Two serve processes on one inference table: the first stops, its queued row kept in
    a file while its plain append runs, and the second starts meanwhile. The file belongs
    to a live log, so the second does not recover it (its MERGE would commit the row
    before the first's append adds it again): the row is in the table once."""
    serving = {**ctx.settings.raw["serving"], "log_flush_rows": 10, "log_flush_seconds": 600}
    ctx = Context(replace(ctx.settings, raw={**ctx.settings.raw, "serving": serving}))
    write, recovered = InferenceLog._write, []

    def second_serve_meanwhile(log, rows, merge):
        if not recovered:  # the first log's closing append, about to start
            second = InferenceLog(ctx)
            recovered.append(second.recover())
            second.close()
        return write(log, rows, merge)

    monkeypatch.setattr(InferenceLog, "_write", second_serve_meanwhile)
    first = InferenceLog(ctx)
    first.add(log_row(b"{}", b"{}", 200, utc(2024, 5, 3, 8), 4, "m", "1"))
    first.close()
    assert ctx.tables.count(ctx.settings.table("inference_table")) == first.written == 1
    assert recovered == [0]
    assert list(unwritten_folder(ctx.settings).iterdir()) == []


def test_the_log_commits_a_batch_at_log_flush_rows_and_keeps_the_rows_of_a_failed_write(
    ctx, monkeypatch
):
    check_log_batches(ctx, monkeypatch)


def test_the_log_commits_rows_under_log_flush_rows_every_log_flush_seconds(ctx):
    """Two rows, under ``serving.log_flush_rows`` (100), are committed by the log's timer
    alone, ``serving.log_flush_seconds`` (0.5) after they were queued: neither flush() nor
    close() is called before they are in the table."""
    serving = {**ctx.settings.raw["serving"], "log_flush_rows": 100, "log_flush_seconds": 0.5}
    ctx = Context(replace(ctx.settings, raw={**ctx.settings.raw, "serving": serving}))
    table = ctx.settings.table("inference_table")
    log = InferenceLog(ctx)
    try:
        for n in range(2):
            request = json.dumps({"client_request_id": f"timed-{n}"}).encode()
            log.add(log_row(request, b"{}", 200, utc(2024, 5, 4, 9), 3, "m", "1"))
        deadline = time.monotonic() + 60
        while log.commits == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (log.commits, log.written, log.queued) == (1, 2, 0)
        logged = ctx.tables.read(table).collect()
        assert sorted(r.client_request_id for r in logged) == ["timed-0", "timed-1"]
    finally:
        log.close()
    assert log.commits == 1  # close() had nothing left to write


def test_rows_the_closing_write_cannot_append_are_kept_and_appended_by_the_next_log(
    ctx, monkeypatch
):
    check_unwritten_rows_are_kept_for_the_next_log(ctx, monkeypatch)


def test_make_clean_refuses_while_serve_has_requests_kept(tmp_path):
    check_make_clean_keeps_requests_serve_kept(tmp_path)
