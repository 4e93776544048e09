"""Generators: turn the rendered prompt into an answer.

- :class:`ExtractiveGenerator` (the offline default) uses no language model: it
  copies the sentences of the context blocks the pipeline put *into the prompt*
  that share the most words with the question, each followed by its ``[doc_id]``.
  It copies only the prose of a sentence (:mod:`.sentences`): no doctest example,
  code fence, call signature in front, Python statement or table rule. It reads
  only the blocks the prompt holds, so a prompt without the retrieved context
  yields no answer.
- :class:`ChatCompletionsGenerator` posts the prompt to any OpenAI-compatible
  ``/chat/completions`` URL (a Databricks model serving endpoint, or a local server).

A generator's ``generate(prompt, question, blocks)`` gets the rendered prompt, the
question and the context blocks in it (:func:`prompt_blocks`). Context blocks in a prompt
start with a line ``[<doc_id>] <title>`` (see :func:`format_context`); a line of the
template that looks like one (``[Note] answer briefly``) is no block: the blocks are the
ones the pipeline inserted, never parsed back out of the prompt.
"""

from __future__ import annotations

import json
import os
import re
import urllib.request

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from .prompts import PLACEHOLDER
from .sentences import copy_of, is_prose, sentences

WORD = re.compile(r"[a-z0-9_]+")
# scikit-learn's English stop words, plus the forms of "do" it lacks ("do" is in it).
STOP_WORDS = ENGLISH_STOP_WORDS | {"does", "did", "doing"}
EXTRACTIVE_NOTE = "offline default: sentences copied from the retrieved context, no language model"
NO_CONTEXT = "The prompt holds no retrieved context to answer from."


def format_context(chunks: list[dict]) -> str:
    """The retrieved chunks as prompt text: per chunk a ``[doc_id] title`` line, then its text."""
    return "\n\n".join(f"[{c['doc_id']}] {c['title']}\n{c['text']}" for c in chunks)


def render_prompt(template: str, question: str, chunks: list[dict]) -> str:
    """``template`` with its ``context`` and ``question`` placeholders filled in, in one pass
    (a placeholder in the retrieved text stays as it is); other placeholders are left."""
    values = {"context": format_context(chunks), "question": question}
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), template)


def _words(text: str) -> set[str]:
    return {w for w in WORD.findall(text.lower()) if w not in STOP_WORDS and len(w) > 1}


def prompt_blocks(template: str, chunks: list[dict]) -> list[tuple[str, str]]:
    """(doc_id, text) of each context block :func:`render_prompt` puts into ``template``:
    one per chunk (dicts with ``doc_id`` and ``text``), in order, when ``template`` has the
    ``context`` placeholder; none when it has not."""
    names = {match.group(1) for match in PLACEHOLDER.finditer(template)}
    return [(c["doc_id"], c["text"]) for c in chunks] if "context" in names else []


class ExtractiveGenerator:
    """The offline default: answers with sentences of the prompt's context (see module doc)."""

    kind = "extractive"

    def __init__(self, max_sentences: int = 3):
        self.max_sentences = max_sentences

    def generate(
        self, prompt: str, question: str, blocks: list[tuple[str, str]] = ()
    ) -> tuple[str, dict]:
        """(answer, metadata) for ``question`` from ``blocks``, the (doc_id, text) context
        blocks the pipeline put into ``prompt`` (:func:`prompt_blocks`); the rest of the
        prompt is not read."""
        metadata = {"generator": self.kind, "language_model": False, "note": EXTRACTIVE_NOTE}
        if not blocks:
            return NO_CONTEXT, metadata
        asked = _words(question)
        candidates = []
        for rank, (doc_id, text) in enumerate(blocks):
            for position, sentence in enumerate(sentences(text)):
                overlap = len(asked & _words(sentence))  # the whole sentence, code included
                copied = copy_of(sentence, doc_id)
                if overlap and is_prose(copied):
                    candidates.append((-overlap, rank, position, copied, doc_id))
        if not candidates:
            return "No sentence of the retrieved context shares a word with the question.", metadata
        chosen = sorted(candidates)[: self.max_sentences]
        chosen.sort(key=lambda c: (c[1], c[2]))
        return " ".join(f"{c[3]} [{c[4]}]" for c in chosen), metadata


class ChatCompletionsGenerator:
    """An OpenAI-compatible chat-completions endpoint: ``POST <url>/chat/completions``.

    ``api_key`` (may be None for a local server without auth) is sent as a bearer
    token. Raises RuntimeError naming the URL when the call fails, or when the reply is
    not JSON or holds no text at ``choices[0].message.content`` (an error object sent with
    HTTP 200, a refusal or tool call with ``content: null``): an answer of another type
    would fail later, in the citations, with a message naming neither.
    """

    kind = "chat_completions"

    def __init__(
        self,
        url: str,
        model: str,
        api_key: str | None,
        max_tokens: int = 400,
        temperature: float = 0.0,
        timeout: float = 60.0,
    ):
        self.url = url.rstrip("/") + "/chat/completions"
        self.model = model
        self.api_key = api_key
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.timeout = timeout

    def generate(
        self, prompt: str, question: str, blocks: list[tuple[str, str]] = ()
    ) -> tuple[str, dict]:
        """(answer, metadata): the first choice's message content for ``prompt`` as user
        message (``blocks`` are in the prompt already and not sent again)."""
        body = {
            "model": self.model,
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
        }
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(
            self.url, data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = json.loads(response.read())
        except OSError as err:
            raise RuntimeError(f"generator: call to {self.url} failed: {err}") from err
        except ValueError as err:  # not JSON, or not UTF-8
            raise RuntimeError(f"generator: {self.url} answered no JSON ({err})") from err
        answer = message_content(payload)
        if answer is None:
            excerpt = json.dumps(payload)[:200]
            raise RuntimeError(
                f"generator: {self.url} answered no text at choices[0].message.content: {excerpt}"
            )
        return answer, {"generator": self.kind, "language_model": True, "model": self.model}


def message_content(payload: object) -> str | None:
    """``payload["choices"][0]["message"]["content"]`` of a chat-completions reply (parsed
    JSON) when it is text, else None (missing, null, or of another type)."""
    try:
        content = payload["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        return None
    return content if isinstance(content, str) else None


def api_key(generator: dict, runtime: str) -> str | None:
    """The generator's credential: $<api_key_env>, else the Databricks secret, else None.

    ``generator.api_key_env`` names an environment variable; ``secret_scope`` and
    ``secret_key`` name a Databricks secret, read on Databricks only with
    ``WorkspaceClient().dbutils.secrets.get`` (databricks-sdk, authenticated by the
    job or serving endpoint). Credentials are never part of the config or the
    logged model.
    """
    value = os.environ.get(generator.get("api_key_env") or "")
    if value:
        return value
    if runtime == "databricks" and generator.get("secret_scope"):
        from databricks.sdk import WorkspaceClient

        secrets = WorkspaceClient().dbutils.secrets
        return secrets.get(scope=generator["secret_scope"], key=generator["secret_key"])
    return None


def make_generator(generator: dict, runtime: str):
    """The generator the config's ``generator`` section describes (``kind`` decides)."""
    if generator.get("kind") == "chat_completions":
        return ChatCompletionsGenerator(
            generator["url"],
            generator["model"],
            api_key(generator, runtime),
            max_tokens=int(generator.get("max_tokens", 400)),
            temperature=float(generator.get("temperature", 0.0)),
        )
    return ExtractiveGenerator(int(generator.get("max_sentences", 3)))
