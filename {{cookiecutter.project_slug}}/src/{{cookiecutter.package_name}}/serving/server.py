"""Local online serving: MLflow's pyfunc scoring server for the champion version, logged.

The champion alias is resolved once, at start, to a version, and
``models:/<name>/<version>`` is served by MLflow's scoring server (FastAPI, run by
uvicorn) on 127.0.0.1 only. Its protocol is the one of Databricks Model Serving:
``POST /invocations`` with ``{"dataframe_records": [...]}`` or
``{"dataframe_split": {...}}`` (or MLflow's ``instances`` and ``inputs``), answered with
``{"predictions": [...]}``. A request missing a model input (any input column of the
model's signature: the model needs every one, those its training data had missing
values for too; send null for an unknown value) gets HTTP 400 naming the columns from
:class:`LoggedApp`, before the model runs; one with a value of the wrong type gets
MLflow's HTTP 400 naming the column (in the ``instances`` and ``inputs`` forms MLflow
does not name it); one that sends no row (``{"dataframe_records": []}``) gets HTTP
400 ``no rows to score`` from :class:`LoggedApp`, and one without a ``Content-Type``
header HTTP 400 naming it (MLflow's server fails on it: HTTP 500, not saying why).
The same server serves either use case's model: the tabular model (rows may carry the
contract's entity keys and event timestamp beside the inputs: the model ignores them,
the inference table keeps them, so labels can be joined later) or the rag QA model
(rows with a ``question``).

Every ``/invocations`` request and its response go to the inference table
(:mod:`.inference_table`), written in batches, an HTTP 500 included; a request cancelled
before it was answered is logged with status 499 (see :class:`LoggedApp`).
"""

from __future__ import annotations

import asyncio
import json
import signal
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import mlflow
import uvicorn
from mlflow.pyfunc import scoring_server

from ..registry import champion_version, model_uri
from ..runtime.context import Context
from .inference_table import InferenceLog, log_row, unwritten_folder
from .request_forms import empty_form, json_body, missing_from
from .settings import checked_port

HOST = "127.0.0.1"
START_SECONDS = 60
# The status logged for a request cancelled before it was answered (nginx's "client closed
# request"): not a server error, and no answer reached the client.
CANCELLED = 499


class LoggedApp:
    """ASGI wrapper: passes every request to ``app`` and logs ``/invocations`` exchanges.

    Every exchange is logged, one an exception ended too: with the status ``app`` sent,
    or 500 when it raised before sending one (uvicorn then answers HTTP 500), or
    :data:`CANCELLED` (499, "client closed request") when its task was cancelled before
    it sent one (``asyncio.CancelledError``: a shutdown that stops waiting for requests
    under way, as uvicorn's graceful-shutdown timeout or the end of the server's event
    loop does): no answer reached the client, and it is not a server error. The
    exception is raised again, for the server to report. (A client that disconnects does
    not cancel the request: the model answers, and the answer is logged.)

    A ``POST /invocations`` request that lacks some of ``inputs`` (the model signature's
    input names), sends no row or has no Content-Type header (:func:`refusal`) is
    answered here, not by ``app``:
    HTTP 400 with MLflow's error body, ``{"error_code": "BAD_REQUEST", "message":
    "missing model input(s) <a>, <b>: ..."}``, ``"no rows to score: ..."`` or
    ``"missing Content-Type header: ..."``, and logged like any answer (another method
    gets MLflow's answer, HTTP 405).
    """

    def __init__(
        self, app, log: InferenceLog, model_name: str, version: int, inputs: list[str] = ()
    ):
        self.app, self.log, self.inputs = app, log, list(inputs)
        self.model_name, self.version = model_name, str(version)

    async def __call__(self, scope, receive, send):
        """Serve one ASGI request; for ``POST /invocations`` also queue its inference-table row."""
        if scope["type"] != "http" or scope["path"] != "/invocations":
            await self.app(scope, receive, send)
            return
        started, clock = datetime.now(UTC), time.perf_counter()
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        request = b"".join(chunks)
        delivered = False

        async def replay():
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": request, "more_body": False}
            return await receive()

        status, body = [500], []
        sent = False

        async def capture(message):
            nonlocal sent
            if message["type"] == "http.response.start":
                status[0], sent = message["status"], True
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))
            await send(message)

        headers = dict(scope.get("headers") or [])
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        posted = scope["method"] == "POST"
        checked = refusal(request, content_type, self.inputs) if posted else None
        answer = _refusal(checked) or self.app
        try:
            await answer(scope, replay, capture)
        except asyncio.CancelledError:
            if not sent:  # nothing answered: not the server's 500
                status[0] = CANCELLED
            raise
        finally:  # an app that raised answered HTTP 500 (or uvicorn did): logged too
            elapsed = round((time.perf_counter() - clock) * 1000)
            row = log_row(
                request, b"".join(body), status[0], started, elapsed, self.model_name, self.version
            )
            self.log.add(row)


def refusal(request: bytes, content_type: str, inputs: list[str]) -> str | None:
    """Why the scoring ``request`` (body, Content-Type header) is answered HTTP 400 before
    the model runs, or None to pass it to the scoring server (which also answers every
    body :func:`.request_forms.json_body` does not read): it sends no row
    (:func:`.request_forms.empty_form`; MLflow would answer that every input is missing),
    or it lacks some of ``inputs``, the model signature's input names
    (:func:`.request_forms.missing_from`), or it has no ``content_type`` at all (empty:
    MLflow's server reads the header unchecked and fails: HTTP 500, not saying why)."""
    if not content_type.strip():
        return "missing Content-Type header: send application/json (or text/csv) with the body"
    body = json_body(request, content_type)  # parsed once, for both checks
    if body is None:
        return None
    empty = empty_form(body)
    if empty:
        return f"no rows to score: {empty} holds none; send at least one row"
    missing = missing_from(body, inputs)
    if missing:
        return (
            f"missing model input(s) {', '.join(missing)}: send every input column of the "
            "model's signature, null where a value is unknown"
        )
    return None


def _refusal(message: str | None):
    """An ASGI app answering HTTP 400 with ``message`` in MLflow's error body; None
    when there is no ``message``."""
    if message is None:
        return None
    body = json.dumps({"error_code": "BAD_REQUEST", "message": message}).encode()

    async def refuse(scope, receive, send):
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 400, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return refuse


@dataclass
class RunningServer:
    """A scoring server running in a background thread; :meth:`stop` ends it and flushes the log."""

    server: uvicorn.Server
    thread: threading.Thread
    log: InferenceLog
    port: int
    model_version: int

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{HOST}:{self.port}"

    def stop(self) -> None:
        """Stop accepting requests, wait for the server thread, write the queued log rows."""
        self.server.should_exit = True
        self.thread.join()
        self.log.close()


def requests(count: int) -> str:
    """``1 request``, ``2 requests``: a count of requests for a line people read."""
    return f"{count} request" + ("" if count == 1 else "s")


def configured_port(ctx: Context, port: int | None = None) -> int:
    """``port`` if given, else ``serving.port``; 0 picks a free port.

    Raises ConfigError naming ``serving.port`` when it is not an integer in 0..65535.
    """
    value = (ctx.settings.raw.get("serving") or {}).get("port") if port is None else port
    return checked_port(value)


def start(ctx: Context, port: int | None = None) -> RunningServer:
    """Start serving the champion version on 127.0.0.1 in a background thread.

    Returns once the server accepts connections, with the requests an earlier serve
    could not log queued first (:meth:`.inference_table.InferenceLog.recover`).
    Raises LookupError when no champion exists, ConfigError for a bad ``serving``
    setting, RuntimeError when the server does not start within a minute (e.g. the
    port is taken) and ValueError naming the file when a kept-requests file is not
    valid (the server is stopped again).
    """
    port = configured_port(ctx, port)
    version = champion_version(ctx)
    name = ctx.settings.model_name
    model = mlflow.pyfunc.load_model(model_uri(name, version))
    log = InferenceLog(ctx)
    schema = model.metadata.get_input_schema()
    inputs = schema.input_names() if schema is not None else []
    app = LoggedApp(scoring_server.init(model), log, name, version, inputs)
    config = uvicorn.Config(app, host=HOST, port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + START_SECONDS
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        server.should_exit = True
        log.close()
        raise RuntimeError(f"the scoring server did not start on {HOST}:{port}")
    try:  # once listening: a failed start must not write an earlier serve's requests
        log.recover()
    except ValueError:
        server.should_exit = True
        thread.join()
        log.close()
        raise
    bound = server.servers[0].sockets[0].getsockname()[1]
    return RunningServer(server, thread, log, bound, version)


def serve_forever(ctx: Context, port: int | None = None) -> None:
    """Run :func:`start` and block until Ctrl-C (SIGINT) or SIGTERM (``kill``, ``docker
    stop``, systemd); then stop and flush the inference table.

    Prints one line when serving starts, one when it stops (writing the queued log
    rows may take seconds: the first write starts Spark) and one when it has stopped,
    with the number of requests logged; when the last write fails, that line also
    gives the number of requests not written and the file that keeps them (the next
    ``serve`` appends them first, see :class:`.inference_table.InferenceLog`), and the
    error is raised. The start line says how many such requests it appends.

    Called from the main thread, it handles SIGTERM while it serves and puts the previous
    handler back as it stops (a signal handler can only be set from the main thread). With
    the default handler, a SIGTERM while it stops ends the process at once, without the
    last line; the requests stay in the kept file for the next ``serve``.
    """
    running = start(ctx, port)
    print(
        f"serving {ctx.settings.model_name} v{running.model_version} at "
        f"{running.url}/invocations (Ctrl-C or SIGTERM stops); requests are logged in "
        f"{running.log.table}"
        + (
            f"; {requests(running.log.recovered)} an earlier serve could not log "
            f"{'is' if running.log.recovered == 1 else 'are'} appended first "
            f"(from {unwritten_folder(ctx.settings)})"
            if running.log.recovered
            else ""
        ),
        flush=True,
    )
    terminated = threading.Event()
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, lambda *_: terminated.set()) if main else None
    try:
        while running.thread.is_alive() and not terminated.is_set():
            running.thread.join(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        if main:  # None: the previous handler was not set from Python; the default then
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
        log = running.log
        print(f"stopping: writing the queued requests to {log.table}", flush=True)
        try:
            running.stop()
        except BaseException:
            kept = f" (kept in {log.kept}; the next serve appends them)" if log.kept else ""
            print(
                f"stopped; requests logged in {log.table}: {log.written}; "
                f"not written: {log.queued}{kept}",
                flush=True,
            )
            raise
        print(f"stopped; requests logged in {log.table}: {log.written}", flush=True)
