"""Sentences of retrieved text, and which of them are prose worth copying into an answer.

Chunk text is one line (chunking joins words with single spaces), so code in a
document (a doctest example, a fenced block, a call signature in front of its
docstring) runs into the sentences around it. The extractive generator matches a
question on a whole sentence (:func:`sentences`) and copies only its prose part
(:func:`copy_of`) when :func:`is_prose` accepts it.
"""

from __future__ import annotations

import ast
import re
import warnings

SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n\s*\n")
# Abbreviations a sentence does not end at ("(e.g. one that ...").
ABBREVIATIONS = {"e.g.", "i.e.", "etc.", "cf.", "vs.", "approx."}
# Where code starts inside a sentence: a doctest prompt or continuation (``>>>``, a
# lone ``...``) or a Markdown code fence.
CODE_START = re.compile(r">>>|```|(?<!\S)\.\.\.(?!\S)")
# A call at the start of a sentence (``json.dumps(obj, *, indent=None)``), optionally
# after the name it documents (``time.perf_counter perf_counter()``) or a word that
# says what it is (``Function get_close_matches(word, ...)``).
CALL = re.compile(
    r"(?:(?:[A-Za-z_][\w.]*\.)?(?P<name>[A-Za-z_]\w*) (?=(?P=name)\()|(?:Function|Class|Method) )?"
    r"[A-Za-z_][\w.]*\("
)
# The return annotation after a signature: ``-> float``, ``-> tuple[int, int]``, ``-> (a, b)``.
RETURNS = re.compile(r"\s*->\s*[\w.]*")
# A table rule or cell border of reStructuredText or Markdown (``=====``, ``|---|``, ``|``).
TABLE = re.compile(r"[|:=+-]{3,}|\|")
MIN_WORDS = 3


def sentences(text: str) -> list[str]:
    """``text`` cut into sentences after ``.``, ``!`` or ``?`` and at blank lines, except
    after an abbreviation of :data:`ABBREVIATIONS`. Pieces keep their own whitespace."""
    pieces: list[str] = []
    for piece in SENTENCE_END.split(text):
        if pieces and _ends_with_abbreviation(pieces[-1]):
            pieces[-1] = f"{pieces[-1]} {piece}"
        else:
            pieces.append(piece)
    return pieces


def _ends_with_abbreviation(piece: str) -> bool:
    words = piece.split()
    return bool(words) and words[-1].lstrip("([\"'").lower() in ABBREVIATIONS


def _closing(text: str, start: int) -> int | None:
    """The index after the bracket that closes the one at ``text[start]``, or None."""
    closes = {"(": ")", "[": "]"}
    depth = 0
    for position in range(start, len(text)):
        if text[position] in closes:
            depth += 1
        elif text[position] in closes.values():
            depth -= 1
            if depth == 0:
                return position + 1
    return None


def after_call(sentence: str) -> str:
    """``sentence`` without the call it starts with (to the matching parenthesis, with a
    return annotation (:data:`RETURNS`, brackets included) or ``:`` after it), or
    unchanged when it starts with no call or a bracket never closes."""
    start = CALL.match(sentence)
    end = _closing(sentence, start.end() - 1) if start else None
    if end is None:
        return sentence
    returns = RETURNS.match(sentence, end)
    if returns:
        end = returns.end()
        if sentence[end : end + 1] in ("(", "["):
            end = _closing(sentence, end)
            if end is None:
                return sentence
    return sentence[end:].lstrip(" :")


def copy_of(sentence: str, name: str | None = None) -> str:
    """What of ``sentence`` an answer may copy: its words, single-spaced, before the first
    doctest prompt or continuation (``>>>``, ``...``) or code fence, without the
    document's ``name`` (its title, such as ``csv.Error``, run into its first sentence)
    or a call signature in front."""
    text = CODE_START.split(" ".join(sentence.split()), maxsplit=1)[0].strip()
    if name and text.startswith(f"{name} "):
        text = text[len(name) + 1 :]
    return after_call(text)


def is_python(text: str) -> bool:
    """Whether ``text`` parses as Python code: it holds a statement other than a bare
    expression (``from io import StringIO``, ``heap = []``), or a call, subscript or
    attribute (``print(x) and y``). Prose that happens to parse (``Caching is not free``)
    is not code. Never raises."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning: invalid escape sequences
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return any(not isinstance(node, ast.Expr) for node in tree.body) or any(
        isinstance(node, ast.Call | ast.Subscript | ast.Attribute) for node in ast.walk(tree)
    )


def is_prose(copy: str) -> bool:
    """Whether ``copy`` (from :func:`copy_of`) is worth copying: at least
    :data:`MIN_WORDS` words, not Python (:func:`is_python`), brackets that balance (a
    chunk cut mid-call does not), no assignment (`` = ``) or arrow (``->``, ``-->``:
    code that does not parse, signatures, iterator sketches) and no table rule or cell
    border (:data:`TABLE`)."""
    words = copy.split()
    return (
        len(words) >= MIN_WORDS
        and not is_python(copy)
        and all(copy.count(left) == copy.count(right) for left, right in ("()", "[]", "{}"))
        and " = " not in copy
        and "->" not in copy
        and not any(TABLE.fullmatch(word) for word in words)
    )
