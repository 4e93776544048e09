"""Checks of the serving code that every use case shares, called by each suite's tests."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from {{ cookiecutter.package_name }}.runtime.context import Context
from {{ cookiecutter.package_name }}.serving.inference_table import (
    InferenceLog,
    log_row,
    unwritten_folder,
)
from {{ cookiecutter.package_name }}.settings_file import ConfigError

from .make_runs import LOCAL_RUNTIME_ROOTS, copy_makefile, local_roots, run_make


def check_make_clean_keeps_requests_serve_kept(tmp_path: Path) -> None:
    """Assert that the project's ``make clean`` refuses, deleting nothing, while the
    folder of requests serve kept (:func:`unwritten_folder` of a run from the project
    folder) holds kept files, also with ``FORCE=0``, with ``MLOPS_LOCAL_ROOT`` unset or
    empty; that a stale ``.part`` file does not stop it; that ``FORCE=1`` drops the kept
    requests with the rest; and that with ``MLOPS_LOCAL_ROOT`` set it checks and drops
    that folder's kept requests instead, leaving ``local_runtime`` alone. ``make -n clean``
    names ``serving/unwritten`` under the folder :func:`local_roots` gives for each way the
    variable is given."""
    copy_makefile(tmp_path)
    for root, folder in local_roots(tmp_path / "state"):
        dry = run_make(tmp_path, "-n", "clean", local_root=root).stdout.splitlines()
        searched = [line.split()[1] for line in dry if line.startswith("kept=$(find ")]
        named = [line.split()[2] for line in dry if "file(s) of requests serve kept" in line]
        expected = unwritten_folder(SimpleNamespace(local_root=Path(folder))).as_posix()
        assert searched == named == [expected], f"MLOPS_LOCAL_ROOT={root!r}"
    kept = tmp_path / unwritten_folder(SimpleNamespace(local_root=None))
    kept.mkdir(parents=True)
    for n in (1, 2):
        (kept / f"inference-{n}.jsonl").write_text(json.dumps({"n": n}) + "\n", encoding="utf-8")
    (tmp_path / "local_runtime" / "mlflow.db").write_bytes(b"store")

    for args, count in (((), 2), (("FORCE=0",), 1)):
        if count == 1:
            (kept / "inference-2.jsonl").unlink()
        for root in LOCAL_RUNTIME_ROOTS:
            refused = run_make(tmp_path, "clean", *args, local_root=root)
            assert refused.returncode != 0, f"MLOPS_LOCAL_ROOT={root!r}"
            assert refused.stderr.splitlines()[0] == (
                f"error: local_runtime/serving/unwritten holds {count} file(s) of requests "
                "serve kept that are not in the inference table yet: start serve once to "
                "write them, or run 'make clean FORCE=1' to drop them"
            ), f"MLOPS_LOCAL_ROOT={root!r}"
            assert len(list(kept.glob("*.jsonl"))) == count
            assert (tmp_path / "local_runtime" / "mlflow.db").is_file()

    (kept / "inference-1.jsonl").rename(kept / "inference-1.part")  # a killed write's rest
    assert run_make(tmp_path, "clean").returncode == 0
    assert not (tmp_path / "local_runtime").exists()

    kept.mkdir(parents=True)
    (kept / "inference-3.jsonl").write_text('{"n": 3}\n', encoding="utf-8")
    forced = run_make(tmp_path, "clean", "FORCE=1")
    assert forced.returncode == 0, forced.stderr
    assert not (tmp_path / "local_runtime").exists()

    # MLOPS_LOCAL_ROOT: the kept requests under that folder count, local_runtime is kept.
    (tmp_path / "local_runtime").mkdir()
    elsewhere = tmp_path / "state"
    kept = unwritten_folder(SimpleNamespace(local_root=elsewhere))
    kept.mkdir(parents=True)
    (kept / "inference-1.jsonl").write_text('{"n": 1}\n', encoding="utf-8")
    refused = run_make(tmp_path, "clean", local_root=str(elsewhere))
    assert refused.returncode != 0
    assert refused.stderr.startswith(f"error: {kept} holds 1 file(s) of requests serve kept")
    assert (kept / "inference-1.jsonl").is_file()
    forced = run_make(tmp_path, "clean", "FORCE=1", local_root=str(elsewhere))
    assert forced.returncode == 0, forced.stderr
    assert not elsewhere.exists() and (tmp_path / "local_runtime").is_dir()


def full_disk(tables, name):
    """A Tables.path that fails as a write to a full disk would."""
    raise OSError(f"simulated: no space left for {name}")


def check_log_batches(ctx: Context, monkeypatch) -> None:
    """Assert how :class:`InferenceLog` writes ``ctx``'s inference table: one commit per
    ``serving.log_flush_rows`` rows (3 here), nothing under that, the rows of a failed
    write kept for the next, the rest on close; a non-positive setting is refused.
    """
    serving = {**ctx.settings.raw["serving"], "log_flush_rows": 3, "log_flush_seconds": 600}
    small = Context(replace(ctx.settings, raw={**ctx.settings.raw, "serving": serving}))
    table = small.settings.table("inference_table")
    started = datetime(2024, 5, 1, 12, tzinfo=UTC)
    rows = [
        log_row(json.dumps({"client_request_id": i}).encode(), b"{}", 200, started, 5, "m", "1")
        for i in range(5)
    ]
    log = InferenceLog(small)
    try:
        for row in rows[:3]:  # the third row fills the batch: the log's thread writes it
            log.add(row)
        deadline = time.monotonic() + 60
        while log.commits == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert log.commits == 1 and small.tables.version(table) == 0
        written = sorted(r["client_request_id"] for r in small.tables.read(table).collect())
        assert written == ["0", "1", "2"]

        for row in rows[3:]:  # two rows: under the batch size, nothing is written
            log.add(row)
        time.sleep(1)
        assert log.commits == 1 and small.tables.count(table) == 3
        with monkeypatch.context() as patch:  # a failed write keeps its rows queued
            patch.setattr(type(small.tables), "path", full_disk)
            with pytest.raises(OSError, match="no space left"):
                log.flush()
        assert log.commits == 1 and small.tables.count(table) == 3
        write = InferenceLog._write

        def committed_then_lost(self, *args, **kwargs):
            write(self, *args, **kwargs)
            raise ConnectionError("the reply to the commit was lost")

        with monkeypatch.context() as patch:  # a write that committed, then failed
            patch.setattr(InferenceLog, "_write", committed_then_lost)
            with pytest.raises(ConnectionError, match="reply to the commit was lost"):
                log.flush()
        assert (log.commits, log.queued, small.tables.count(table)) == (1, 2, 5)
    finally:
        log.close()  # writes the queued rows in one more commit, merged: none twice
    assert log.commits == 2
    written = sorted(r["client_request_id"] for r in small.tables.read(table).collect())
    assert written == ["0", "1", "2", "3", "4"]

    with pytest.raises(ConfigError, match="serving.log_flush_rows: must be a positive number"):
        InferenceLog(
            Context(
                replace(
                    small.settings,
                    raw={**small.settings.raw, "serving": {**serving, "log_flush_rows": 0}},
                )
            )
        )


def check_unwritten_rows_are_kept_for_the_next_log(ctx: Context, monkeypatch) -> None:
    """Assert that rows the closing write cannot append are kept in a file, not lost, and
    that later logs append them once: after two failed stops, and again after a crash
    that left the file behind once its rows were appended."""
    serving = {**ctx.settings.raw["serving"], "log_flush_seconds": 600}  # no timed write
    ctx = Context(replace(ctx.settings, raw={**ctx.settings.raw, "serving": serving}))
    table = ctx.settings.table("inference_table")
    folder = ctx.settings.local_root / "serving" / "unwritten"
    started = datetime(2024, 5, 2, 23, 59, 30, tzinfo=UTC)
    requests = [json.dumps({"client_request_id": f"kept-{i}"}).encode() for i in range(2)]
    log = InferenceLog(ctx)
    for request in requests:
        log.add(log_row(request, b"{}", 200, started, 7, "m", "3"))
    with monkeypatch.context() as patch:
        patch.setattr(type(ctx.tables), "path", full_disk)
        with pytest.raises(OSError, match="no space left"):
            log.close()
        again = InferenceLog(ctx)  # a second serve, stopped while the disk is still full
        assert again.recover() == 2
        with pytest.raises(OSError, match="no space left"):
            again.close()
    assert ctx.tables.count(table) == 0
    assert sorted(folder.iterdir()) == [again.kept] and log.kept != again.kept
    assert len(again.kept.read_text().splitlines()) == 2
    crashed = again.kept.read_text()

    with monkeypatch.context() as patch:  # the next serve, in a process on New York time
        patch.setenv("TZ", "America/New_York")
        time.tzset()
        try:
            later = InferenceLog(ctx)
            assert later.recover() == 2 and later.queued == 2
            later.close()
        finally:
            patch.undo()
            time.tzset()
    assert (later.written, later.kept, list(folder.iterdir())) == (2, None, [])

    # A crash after that commit, before the file was deleted, would have left it: the next
    # log merges on the request id and adds nothing.
    again.kept.write_text(crashed)
    third = InferenceLog(ctx)
    assert third.recover() == 2
    third.close()
    assert (third.written, third.commits, list(folder.iterdir())) == (0, 1, [])

    kept = ctx.tables.read(table).collect()
    assert sorted(r.client_request_id for r in kept) == ["kept-0", "kept-1"]
    for row in kept:
        assert row.request_time == started.replace(tzinfo=None)  # read back on UTC time
        assert row.request_date == started.date()
        answered = (row.status_code, row.execution_duration_ms, row.served_model_version)
        assert answered == (200, 7, "3")
