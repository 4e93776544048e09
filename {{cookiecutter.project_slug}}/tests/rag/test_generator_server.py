"""The chat-completions generator against a local server started here on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import warnings
from contextlib import contextmanager
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, HTTPServer

import mlflow
import pytest

from {{ cookiecutter.package_name }}.rag.generation import ChatCompletionsGenerator
from {{ cookiecutter.package_name }}.rag.steps import build, register_prompt
from {{ cookiecutter.package_name }}.rag.steps.evaluate import load_pipeline
from {{ cookiecutter.package_name }}.runtime.context import Context

from .conftest import fresh_context, slot


@contextmanager
def chat_server_replying(replies: list[bytes]):
    """A chat-completions server on 127.0.0.1 answering each POST with HTTP 200 and the next
    of ``replies`` (the last once they run out); yields (base URL, list of received requests)."""
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the http.server hook name
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append({"path": self.path, "headers": dict(self.headers), "body": body})
            data = replies[min(len(received), len(replies)) - 1]
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1", received
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def chat_server():
    """A chat-completions server answering "It returns a str." (:func:`chat_server_replying`)."""
    reply = {"choices": [{"message": {"role": "assistant", "content": "It returns a str."}}]}
    with chat_server_replying([json.dumps(reply).encode()]) as server:
        yield server


def test_request_carries_the_registered_prompt_and_the_retrieved_chunks(
    tmp_path, indexed, chat_server, monkeypatch
):
    url, received = chat_server
    base = fresh_context(tmp_path, indexed).settings
    generator = {**base.generator, "kind": "chat_completions", "url": url, "model": "local-test"}
    ctx = Context(replace(base, generator=generator))
    monkeypatch.setenv(generator["api_key_env"], "test-key")
    prompt = register_prompt.run(ctx)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        version = build.run(ctx)["model_version"]
    # Build logs the model with its signature and without asking for more: no input
    # example (MLflow would answer it, a call to the endpoint: `received` holds only
    # the answer below), no type hints missing on predict.
    assert [str(w.message) for w in caught if issubclass(w.category, UserWarning)] == []

    ctx.mlflow()
    pipeline = load_pipeline(ctx.settings.model_name, version)
    answer = pipeline.answer("What does json.dumps return?")

    (request,) = received
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer test-key"
    assert request["body"]["model"] == "local-test"
    sent = request["body"]["messages"][0]["content"]
    template = mlflow.genai.load_prompt(f"prompts:/{ctx.settings.prompt_name}/{prompt['version']}")
    head, tail = template.template.split(slot("context"))
    assert (
        sent.startswith(head)
        and tail.replace(slot("question"), "What does json.dumps return?") in sent
    )
    chunks = pipeline.retriever.retrieve("What does json.dumps return?", pipeline.k)
    assert [c["chunk_id"] for c in chunks] == answer["chunk_ids"]
    for chunk in chunks:
        assert f"[{chunk['doc_id']}] {chunk['title']}\n{chunk['text']}" in sent
    assert answer["answer"] == "It returns a str."
    assert answer["metadata"]["language_model"] is True
    assert "test-key" not in json.dumps(answer)


def test_a_reply_without_an_answer_is_one_error_naming_the_url():
    # Each was a KeyError, a JSONDecodeError or, for a null content, a TypeError in the
    # citations: an error `ask` printed as a traceback, naming neither the URL nor the reply.
    refusal = {"choices": [{"message": {"role": "assistant", "content": None, "refusal": "No."}}]}
    error = {"error": {"message": "rate limited"}}  # sent with HTTP 200 by some proxies
    replies = [b"<html>busy</html>", json.dumps(error).encode(), json.dumps(refusal).encode()]
    with chat_server_replying(replies) as (url, received):
        generator = ChatCompletionsGenerator(url, "local-test", None)
        errors = []
        for _ in replies:
            with pytest.raises(RuntimeError) as failed:
                generator.generate("the prompt", "the question")
            errors.append(str(failed.value))
    assert len(received) == 3
    called = f"generator: {url}/chat/completions answered"
    assert errors == [
        f"{called} no JSON (Expecting value: line 1 column 1 (char 0))",
        f"{called} no text at choices[0].message.content: {json.dumps(error)}",
        f"{called} no text at choices[0].message.content: {json.dumps(refusal)}",
    ]
