"""Step 3, register-prompt: the prompt file as a new Prompt Registry version when its text changed.

A version is never overwritten: an edit makes version n+1, an unchanged file
registers nothing. The challenger alias (``registry.challenger_alias``) then
points at the newest version; the build step reads the prompt through it.
"""

from __future__ import annotations

import mlflow

from ...runtime.context import Context
from ..prompts import PROMPT_FILE, checked_template, latest_prompt, prompt_text


def run(ctx: Context, text: str | None = None) -> dict:
    """Register ``text`` (default: the packaged prompt file) when it differs from the newest.

    Returns prompt (name), version (int), registered (bool: a new version was
    made) and alias (the challenger alias now on that version). Raises ValueError,
    before anything is written, when the template lacks the ``question`` placeholder or
    has one of another name, e.g. a typo (:func:`..prompts.checked_template`: naming
    ``text``, or the file by default).
    """
    settings = ctx.settings
    text = prompt_text() if text is None else checked_template(text, "text")
    ctx.mlflow()
    name = settings.prompt_name
    latest = latest_prompt(name)
    registered = latest is None or latest.template != text
    if registered:
        latest = mlflow.genai.register_prompt(
            name, text, commit_message=f"from {PROMPT_FILE}", tags={"source_file": PROMPT_FILE}
        )
    mlflow.genai.set_prompt_alias(name, settings.challenger_alias, latest.version)
    return {
        "prompt": name,
        "version": int(latest.version),
        "registered": registered,
        "alias": settings.challenger_alias,
    }
