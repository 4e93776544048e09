"""Fast checks without Spark: settings, chunking, extractive answers, Vector Search with a fake."""

from __future__ import annotations

import functools
import math
import re
import runpy
import shutil
import sys
import warnings
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import databricks.sdk
import mlflow
import numpy as np
import pytest
import yaml
from databricks.sdk.errors import NotFound
from mlflow.entities import AssessmentSource, Feedback
from mlflow.genai.scorers import Scorer, scorer
from mlflow.genai.scorers.scorer_utils import get_scorer_definition_digest

from {{ cookiecutter.package_name }}.cli import format_summary
from {{ cookiecutter.package_name }}.rag import corpus, eval_set, packaged, prompts, vector_search
from {{ cookiecutter.package_name }}.rag import settings as rag_settings
from {{ cookiecutter.package_name }}.rag.chunking import SPLITTER, chunk_documents, split_text
from {{ cookiecutter.package_name }}.rag.embedding import with_dotted_names
from {{ cookiecutter.package_name }}.rag.eval_set import (
    EVAL_FILE,
    as_eval_data,
    load_eval_set,
    parse_eval_set,
)
from {{ cookiecutter.package_name }}.rag.generation import (
    ExtractiveGenerator,
    make_generator,
    prompt_blocks,
    render_prompt,
)
from {{ cookiecutter.package_name }}.rag.pipeline import CITATION, best_score
from {{ cookiecutter.package_name }}.rag.prompts import PROMPT_FILE
from {{ cookiecutter.package_name }}.rag.retrieval import HashingRetriever, VectorSearchRetriever
from {{ cookiecutter.package_name }}.rag.scorers import (
    fact_recall,
    judge_scorers,
    retrieval_hit,
    scored_or_raised,
)
from {{ cookiecutter.package_name }}.rag.sentences import copy_of, is_prose, is_python, sentences
from {{ cookiecutter.package_name }}.rag.settings import load_rag_settings
from {{ cookiecutter.package_name }}.rag.steps import evaluate
from {{ cookiecutter.package_name }}.rag.steps.build import MODEL_FILE, pipeline_config
from {{ cookiecutter.package_name }}.rag.steps.evaluate import (
    compared,
    gate,
    too_few_questions,
)
from {{ cookiecutter.package_name }}.rag.steps.index import embedded_chunks
from {{ cookiecutter.package_name }}.rag.steps.monitor import window_start
from {{ cookiecutter.package_name }}.registry import STATUS_TAG
from {{ cookiecutter.package_name }}.runtime.context import Context
from {{ cookiecutter.package_name }}.settings_file import LOCAL_ROOT_VAR, ConfigError, load_raw
from {{ cookiecutter.package_name }}.steps import deploy as model_deploy

from .conftest import SLICE, FakeIndexes, slot


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"chunking": {"size": 100, "overlap": 100}}, "chunking.overlap"),
        ({"generator": {"api_key": "sk-123"}}, "generator.api_key: credentials never"),
        ({"generator": {"kind": "chat_completions"}}, "generator.url: required"),
        ({"evaluation": {"min_fact_recall": 1.5}}, "evaluation.min_fact_recall: Input should"),
        ({"source": {"kind": "web"}}, "source.kind: Input should be 'python_stdlib'"),
        ({"embedding": {"kind": "databricks_endpoint"}}, "needs runtime databricks"),
        ({"generator": {"secret_scope": "qa"}}, "generator.secret_scope, generator.secret_key"),
        # a misspelled key, at the top and deep inside a section
        ({"chunkin": {"size": 100}}, "'local': chunkin: unknown key"),
        (
            {"monitoring": {"max_latency_p59_ms": 100}},
            "'local': monitoring.max_latency_p59_ms: unknown key",
        ),
        ({"registry": {"champion": "best"}}, "'local': registry.champion: unknown key"),
        # a value of the wrong type (strict: a quoted number is not a number)
        ({"chunking": {"size": "800"}}, "'local': chunking.size: Input should be a valid integer"),
        ({"retrieval": {"k": 2.5}}, "'local': retrieval.k: Input should be a valid integer"),
        ({"retrieval": {"min_score": -0.1}}, "'local': retrieval.min_score: Input should be"),
        (
            {"evaluation": {"min_questions": 0}},
            "'local': evaluation.min_questions: Input should be greater than 0 (got 0)",
        ),
        (
            {"monitoring": {"out_of_domain_score": 1.5}},
            "'local': monitoring.out_of_domain_score: Input should be less than or equal to 1",
        ),
        ({"tables": {"feedback": 7}}, "'local': tables.feedback: Input should be a valid string"),
        # a name that is not one Unity Catalog identifier, under each key that holds one
        *(
            (override, f"'local': {where}: must be a Unity Catalog identifier: letters, digits")
            for override, where in (
                ({"catalog": "main.docs"}, "catalog"),
                ({"schema": "docs qa"}, "schema"),
                ({"tables": {"documents_bronze": "docs-bronze"}}, "tables.documents_bronze"),
                ({"tables": {"chunks": "main.docs.chunks"}}, "tables.chunks"),
                ({"tables": {"feedback": "2feedback"}}, "tables.feedback"),
                ({"tables": {"monitoring_metrics": "m/m"}}, "tables.monitoring_metrics"),
                ({"tables": {"inference_table": "requêtes"}}, "tables.inference_table"),
                ({"model": {"name": "qa`pipeline"}}, "model.name"),
                ({"model": {"prompt": "qa prompt"}}, "model.prompt"),
                (
                    {"embedding": {"vector_search": {"endpoint": "vs", "index": "a.b"}}},
                    "embedding.vector_search.index",
                ),
            )
        ),
        (
            {"registry": {"champion_alias": "prod model"}},
            "'local': registry.champion_alias: 'prod model' is not an MLflow alias",
        ),
        # two keys naming one table (Unity Catalog names ignore case)
        (
            {"tables": {"feedback": "Document_Chunks"}},
            "'local': tables: chunks and feedback both name 'Document_Chunks' (Unity Catalog "
            "names ignore case): give each its own name",
        ),
        # a number that is not finite (YAML reads 1e400 as infinity): a limit nothing crosses
        *(
            (override, f"'local': {where}: Input should be a finite number (got {value})")
            for override, where, value in (
                (
                    {"monitoring": {"max_latency_p95_ms": math.inf}},
                    "monitoring.max_latency_p95_ms",
                    "inf",
                ),
                ({"retrieval": {"min_score": math.nan}}, "retrieval.min_score", "nan"),
                (
                    {"evaluation": {"min_fact_recall": -math.inf}},
                    "evaluation.min_fact_recall",
                    "-inf",
                ),
            )
        ),
    ],
)
def test_bad_settings_name_the_key(tmp_path, override, message):
    path = tmp_path / "override.yml"
    path.write_text(yaml.safe_dump(override), encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(message)) as refused:
        load_rag_settings("local", path)
    # every rule, typed or between keys, names the environment once
    assert str(refused.value).startswith("settings of environment 'local': ")
    assert str(refused.value).count("settings of environment") == 1
    assert "\n" not in str(refused.value)  # one line


def test_the_vector_search_index_is_not_named_as_one_of_the_tables(tmp_path):
    # The index is a Unity Catalog object of the tables' schema (vector_search.index_name).
    path = tmp_path / "override.yml"
    path.write_text("embedding:\n  vector_search:\n    index: DOCUMENT_CHUNKS\n")
    with pytest.raises(ConfigError) as refused:
        load_rag_settings("dev", path)
    assert str(refused.value) == (
        "settings of environment 'dev': embedding.vector_search.index: tables.chunks and "
        "embedding.vector_search.index both name 'DOCUMENT_CHUNKS' (Unity Catalog names ignore "
        "case): give each its own name"
    )
    path.write_text("embedding:\n  vector_search:\n    index: document_chunks_ix\n")
    assert vector_search.index_name(load_rag_settings("dev", path)).endswith(".document_chunks_ix")


def test_a_number_in_exponent_notation_without_a_dot_is_a_number(tmp_path):
    path = tmp_path / "override.yml"
    path.write_text("retrieval:\n  min_score: 11e-2\nmonitoring:\n  max_latency_p95_ms: 5e3\n")
    settings = load_rag_settings("local", path)
    assert (settings.retrieval["min_score"], settings.monitoring["max_latency_p95_ms"]) == (
        0.11,
        5000.0,
    )


def load_edited(monkeypatch, edit) -> None:
    """Make :func:`load_rag_settings` read the packaged settings after ``edit(raw)`` (a key
    removed or renamed, as a user editing conf/config.yml does; an override file can only
    add keys)."""

    def edited(env=None, override_file=None):
        name, raw = load_raw(env, override_file)
        edit(raw)
        return name, raw

    monkeypatch.setattr(rag_settings, "load_raw", edited)


@pytest.mark.parametrize(
    "path",
    [
        ("evaluation", "mode"),
        ("evaluation", "min_questions"),
        ("monitoring", "max_latency_p95_ms"),
        ("tables", "chunks"),
        ("retrieval", "min_score"),  # null must be written: a digest of the settings names it
        ("model",),
    ],
)
@pytest.mark.parametrize("env", ["local", "staging"])
def test_a_missing_key_is_named_with_its_environment(monkeypatch, env, path):
    *sections, key = path
    load_edited(monkeypatch, lambda raw: functools.reduce(dict.get, sections, raw).pop(key))
    where = ".".join(path)
    with pytest.raises(ConfigError, match=re.escape(f"'{env}': {where}: Field required")):
        load_rag_settings(env)


@pytest.mark.parametrize(
    ("section", "real", "written", "message"),
    [
        ("chunking", "size", "sise", "chunking.sise: unknown key (did you mean size?)"),
        ("tables", "chunks", "chunk", "tables.chunk: unknown key (did you mean chunks?)"),
    ],
)
def test_a_misspelled_required_key_is_named_not_reported_missing(
    monkeypatch, section, real, written, message
):
    """The key is in the settings under a misspelled name only, so its real name is also
    missing: the error names the misspelling and the key it is close to."""

    def misspell(raw):
        raw[section][written] = raw[section].pop(real)

    load_edited(monkeypatch, misspell)
    with pytest.raises(ConfigError) as refused:
        load_rag_settings("local")
    assert str(refused.value) == f"settings of environment 'local': {message}"


def test_a_key_close_to_none_says_it_is_not_a_setting(tmp_path):
    path = tmp_path / "override.yml"
    path.write_text("retrieval:\n  rerank: true\n", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_rag_settings("local", path)
    assert str(refused.value) == (
        "settings of environment 'local': retrieval.rerank: unknown key (not a setting; check "
        "the spelling)"
    )


def test_the_shipped_config_loads_for_every_environment():
    text = packaged.packaged_text("conf/config.yml")
    environments = yaml.safe_load(text)["environments"]
    assert set(environments) == {"local", "dev", "staging", "prod", "test"}
    for env in environments:
        settings = load_rag_settings(env)
        assert settings.env == env
        assert settings.chunking["overlap"] < settings.chunking["size"]
        assert settings.evaluation["mode"] == "enabled"
        # Only the test target (CI's jobs) fails on a rejected candidate.
        assert settings.evaluation["fail_on_rejection"] is (env == "test")


def test_every_databricks_env_selects_vector_search():
    for env in ("dev", "staging", "prod", "test"):
        settings = load_rag_settings(env)
        assert settings.embedding["kind"] == "databricks_endpoint"
        assert vector_search.index_name(settings).startswith(f"{settings.catalog}.")
        # build's config hashes only what the file sets (no typed default such as
        # seed or max_tokens), so typing the settings left every digest as it was.
        prompt = SimpleNamespace(version="3", template="Q: " + slot("question"))
        config = pipeline_config(settings, prompt, "index-v1")
        assert config["vector_search_index"] == vector_search.index_name(settings)
        assert "seed" not in config["retrieval"] and "max_tokens" not in config["generator"]
        # An endpoint embedding needs no n_features: unset or None, the config says 0.
        without = {k: v for k, v in settings.embedding.items() if k != "n_features"}
        for embedding in (without, {**without, "n_features": None}):
            bare = replace(settings, embedding=embedding)
            assert pipeline_config(bare, prompt, "index-v1")["n_features"] == 0


def test_a_document_folder_is_read_or_refused_with_the_file_named(tmp_path):
    folder = tmp_path / "docs"
    with pytest.raises(ValueError, match="^source.path: .*docs is not a folder$"):
        corpus.files(folder)
    folder.mkdir()
    (folder / "notes.pdf").write_bytes(b"%PDF")
    with pytest.raises(ValueError, match=r"^source.path: no \.md/\.txt/\.rst file under "):
        corpus.files(folder)
    (folder / "guide").mkdir()
    (folder / "guide" / "a.md").write_text("# Alpha\n\nAlpha text.", encoding="utf-8")
    (folder / "empty.txt").write_text("  \n", encoding="utf-8")
    read = corpus.files(folder)
    assert read[["doc_id", "title", "text"]].values.tolist() == [
        ["guide/a.md", "Alpha", "# Alpha\n\nAlpha text."]
    ]
    (folder / "bom.md").write_text("\ufeff# Bravo\n\nBravo text.", encoding="utf-8")
    with_bom = corpus.files(folder).set_index("doc_id").loc["bom.md"]
    assert (with_bom.title, with_bom.text) == ("Bravo", "# Bravo\n\nBravo text.")
    (folder / "b.md").write_bytes("# Caf\u00e9\n".encode("latin-1"))  # not UTF-8
    with pytest.raises(ValueError) as refused:
        corpus.files(folder)
    named = f"source.path: {folder / 'b.md'} is not UTF-8 text (byte 5:"
    assert str(refused.value).startswith(named)


def test_a_document_no_answer_could_cite_is_refused_naming_it(tmp_path):
    # A doc_id with a blank heads no context block and is no citation: the extractive
    # generator answered "no context" from it, and no answer could cite it.
    folder = tmp_path / "docs"
    (folder / "user guide").mkdir(parents=True)
    text = "# Setup\n\nInstall the package with pip."
    (folder / "user guide" / "setup.md").write_text(text, encoding="utf-8")
    (folder / "faq.md").write_text("# FAQ\n\nAsk away.", encoding="utf-8")
    rule = "(answers cite a document as [doc_id] after its context block's line '[doc_id] title')"
    with pytest.raises(ValueError) as refused:
        corpus.check_documents(corpus.files(folder), "source.path docs")
    assert str(refused.value) == (
        f"source.path docs: column doc_id must not hold white space or ']' {rule}: "
        "doc_id 'user guide/setup.md'"
    )
    (folder / "user guide" / "setup.md").rename(folder / "setup.md")
    read = corpus.check_documents(corpus.files(folder), "source.path docs")
    assert read.doc_id.tolist() == ["faq.md", "setup.md"]
    answer = answer_from("setup.md", "Install the package with pip.", "How to install it?")
    assert answer == "Install the package with pip. [setup.md]"

    # A title of two lines: its second would be read as the chunk's text.
    read.loc[1, "title"] = "Setup\nand upgrade"
    with pytest.raises(ValueError) as refused:
        corpus.check_documents(read, "source.table main.docs.pages")
    assert str(refused.value) == (
        f"source.table main.docs.pages: column title must not hold a line break {rule}: "
        "doc_id 'setup.md'"
    )


def test_an_empty_or_repeated_doc_id_or_an_empty_text_is_refused_naming_the_column(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "faq.md").write_text("# FAQ\n\nAsk away.", encoding="utf-8")
    (folder / "setup.md").write_text("# Setup\n\nInstall with pip.", encoding="utf-8")
    read = corpus.files(folder)
    assert corpus.check_documents(read, "t").doc_id.tolist() == ["faq.md", "setup.md"]

    def refused(column: str, value: str) -> str:
        broken = read.copy()
        broken.loc[1, column] = value
        with pytest.raises(ValueError) as error:
            corpus.check_documents(broken, "source.table main.docs.pages")
        return str(error.value)

    prefix = "source.table main.docs.pages: column"
    assert refused("doc_id", "") == f"{prefix} doc_id must not be empty"
    assert refused("doc_id", "  ") == f"{prefix} doc_id must not be empty"
    assert refused("text", " \n ") == f"{prefix} text must not be empty"
    assert refused("doc_id", "faq.md") == f"{prefix} doc_id must be unique, repeated: faq.md"


def test_chunks_respect_size_and_overlap():
    text = " ".join(f"word{i:03d}" for i in range(200))  # 200 words of 7 characters
    pieces = split_text(text, size=80, overlap=20)
    assert all(len(p) <= 80 for p in pieces)
    assert " ".join(pieces[0].split()[-2:]) == " ".join(pieces[1].split()[:2])
    assert pieces[0].split()[0] == "word000" and pieces[-1].split()[-1] == "word199"


def test_the_overlap_never_makes_a_chunk_longer_than_its_size():
    # The overlap gives way to the next word: a chunk of 12 characters at size 10 (and the
    # 8 before it again, whole) was made by keeping it.
    assert split_text("bbbbbbbb ccc dd", size=10, overlap=9) == ["bbbbbbbb", "ccc dd"]
    # A word longer than the size is a piece of its own, with no overlap in front of it.
    long = "x" * 20
    assert split_text(f"aa {long} bb", size=10, overlap=5) == ["aa", long, "bb"]
    words = [f"w{n}{'o' * (n % 13)}" for n in range(300)]  # 2 to 15 characters, distinct
    for size, overlap in ((12, 11), (15, 8), (40, 30)):
        pieces = split_text(" ".join(words), size, overlap)
        assert all(len(p) <= size or " " not in p for p in pieces)
        assert list(dict.fromkeys(w for p in pieces for w in p.split())) == words  # all, in order


def test_the_splitting_rule_is_pinned_with_its_name():
    # The index version covers chunking.SPLITTER, not split_text's code: a new rule under
    # the old name would keep the old rule's chunks of every unchanged document.
    text = (
        "Use json.dumps(obj, indent=2) to serialize obj as a JSON formatted str;\n"
        "json.loads parses it back with object_pairs_hook_and_more_options set."
    )
    pinned = (
        "words at white space; pieces of at most size characters; whole-word overlap",
        [
            "Use json.dumps(obj,",
            "indent=2) to serialize",
            "serialize obj as a JSON",
            "as a JSON formatted str;",
            "str; json.loads parses",
            "parses it back with",
            "object_pairs_hook_and_more_options",
            "set.",
        ],
    )
    assert (SPLITTER, split_text(text, size=24, overlap=10)) == pinned, (
        "split_text cuts this text otherwise than the rule named chunking.SPLITTER: when the "
        "rule changed, give chunking.SPLITTER a new value (so every document is re-chunked), "
        "then pin the new value and pieces here"
    )


def test_the_source_digest_follows_the_code_not_where_it_is_installed(tmp_path):
    # The package copied elsewhere (a wheel in site-packages on Databricks, say): the same
    # digest. Files other than Python source do not count; an edited module does.
    copy = tmp_path / "site-packages" / "package"
    shutil.copytree(packaged.PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    installed = packaged.source_digest()
    assert re.fullmatch(r"[0-9a-f]{64}", installed)
    (copy / "conf" / "notes.txt").write_text("not code", encoding="utf-8")
    # An editor's lock link (dangling) and a notebook's checkpoint are not source either.
    (copy / "rag" / ".#generation.py").symlink_to(tmp_path / "no-such-file")
    checkpoints = copy / "rag" / ".ipynb_checkpoints"
    checkpoints.mkdir()
    (checkpoints / "generation-checkpoint.py").write_text("draft = 1\n", encoding="utf-8")
    assert packaged.source_digest(copy) == installed
    fixed = copy / "rag" / "generation.py"
    fixed.write_text(fixed.read_text(encoding="utf-8") + "\n# a fix\n", encoding="utf-8")
    assert packaged.source_digest(copy) != installed


# A prompt template with the retrieved context and the question.
CONTEXT_AND_QUESTION = slot("context") + "\nQ: " + slot("question")


def extractive_answer(
    chunks: list[dict], question: str, template: str = CONTEXT_AND_QUESTION
) -> tuple[str, dict]:
    """The offline generator's (answer, metadata) for ``question``, given ``chunks`` (dicts
    with ``doc_id``, ``title`` and ``text``) rendered into ``template``."""
    prompt = render_prompt(template, question, chunks)
    return ExtractiveGenerator().generate(prompt, question, prompt_blocks(template, chunks))


def test_a_placeholder_inside_retrieved_text_is_not_filled():
    chunk = {"doc_id": "d", "title": "t", "text": "write " + slot("question") + " in a prompt"}
    prompt = render_prompt(CONTEXT_AND_QUESTION, "why?", [chunk])
    assert prompt == "[d] t\nwrite " + slot("question") + " in a prompt\nQ: why?"


def answer_from(doc_id: str, text: str, question: str) -> str:
    """The extractive answer to ``question`` from one context block ``text`` of ``doc_id``."""
    return extractive_answer([{"doc_id": doc_id, "title": doc_id, "text": text}], question)[0]


# One chunk of heapq.heappop's document, and a question its sentence answers.
HEAPPOP = [
    {
        "doc_id": "heapq.heappop",
        "title": "function heapq.heappop",
        "text": "Pop the smallest item off the heap, maintaining the heap invariant.",
    }
]
HEAPPOP_QUESTION = "What does heappop remove from the heap?"


def test_extractive_answer_cites_and_needs_context_in_the_prompt():
    chunks, question = HEAPPOP, HEAPPOP_QUESTION
    answer, meta = extractive_answer(chunks, question)
    assert (
        answer
        == "Pop the smallest item off the heap, maintaining the heap invariant. [heapq.heappop]"
    )
    assert meta["language_model"] is False
    blind, _ = extractive_answer(chunks, question, template="Q: " + slot("question"))
    assert "[heapq.heappop]" not in blind


def test_a_template_line_like_a_context_block_is_not_read_as_one():
    """A line of the user's template that starts with ``[word] `` is no context block: the
    answer and its citations are those of the template without it."""
    chunks, question = HEAPPOP, HEAPPOP_QUESTION
    plain, _ = extractive_answer(chunks, question)
    noted = "[Note] answer briefly\nThe heap item answer is short.\n" + CONTEXT_AND_QUESTION
    answer, _ = extractive_answer(chunks, question, template=noted)
    assert answer == plain
    assert CITATION.findall(answer) == ["heapq.heappop"]


def test_extractive_answer_copies_prose_not_doctests_or_signatures():
    """The README's question on the chunks of the json module's documents (the module's
    docstring is mostly doctest examples; json.dumps's document starts with its
    signature): the answer is sentences of prose, each with its source."""
    settings = load_rag_settings("local")
    size, overlap = int(settings.chunking["size"]), int(settings.chunking["overlap"])
    chunks = chunk_documents(corpus.python_stdlib(["json"]), size, overlap)
    chunks = chunks[chunks.doc_id.isin(["json", "json.dumps"])].to_dict("records")
    assert any(">>>" in c["text"] for c in chunks)
    assert any("skipkeys=False" in c["text"] for c in chunks)
    answer, _ = extractive_answer(chunks, "What does json.dumps return?")
    assert ">>>" not in answer and "skipkeys=False" not in answer
    assert "Serialize ``obj`` to a JSON formatted ``str``. [json.dumps]" in answer


def hashing_retriever(modules: list[str]) -> HashingRetriever:
    """A retriever over the chunks of these standard-library ``modules``, embedded as the
    index step embeds them with the ``local`` settings."""
    settings = load_rag_settings("local")
    documents = corpus.python_stdlib(modules).assign(text_hash="")
    chunks = embedded_chunks(documents, settings, spec="test")
    return HashingRetriever(chunks, int(settings.embedding["n_features"]))


def test_a_dotted_name_counts_as_one_word_though_its_module_is_a_stop_word():
    """``re`` is one of scikit-learn's English stop words: the question's ``re.match``
    finds the ``re`` module's documents through the dotted name as one word."""
    assert with_dotted_names("Use re.sub() or os.path.join, not 3.14.") == (
        "use re.sub() or os.path.join, not 3.14. re_sub os_path_join"
    )
    retriever = hashing_retriever(["re", "operator", "difflib", "statistics", "collections"])
    found = [c["doc_id"] for c in retriever.retrieve("What does re.match return?", 3)]
    assert found[0] == "re.match", found
    found = [c["doc_id"] for c in retriever.retrieve("What does re.sub do?", 2)]
    assert "re.sub" in found, found  # operator.sub, a short document, comes first


def test_local_min_score_lies_between_every_evaluation_question_and_off_topic_ones():
    """conf/config.yml: with the hashing embedding on the example corpus, every question of
    the evaluation set scores at least ``retrieval.min_score`` (it gets an answer),
    questions off the topic score below it (they get the abstention)."""
    settings = load_rag_settings("local")
    retriever = hashing_retriever(settings.source["modules"])
    min_score = settings.retrieval["min_score"]

    def best(question: str) -> float:
        return best_score(retriever.retrieve(question, int(settings.retrieval["k"])))

    in_topic = {item["question"]: best(item["question"]) for item in load_eval_set()}
    assert min(in_topic.values()) >= min_score, min(in_topic.items(), key=lambda i: i[1])
    for question in (
        "What is the capital of France?",
        "Who won the world cup in 2018?",
        "What is the weather today?",
        "How tall is Mount Everest?",
    ):
        assert best(question) < min_score, question


def test_the_best_score_is_the_highest_of_the_chunks_in_whatever_order():
    chunks = [{"score": 0.05}, {"score": 0.3}, {"score": 0.1}]  # the random floor's order
    assert best_score(chunks) == 0.3
    assert best_score([]) == 0.0


def test_a_sentence_is_matched_whole_and_copied_without_its_code():
    # Only the signature names what is asked about: matched on, not copied.
    answer = answer_from(
        "statistics.fmean",
        "statistics.fmean(data, weights=None) Convert data to floats and compute the mean.",
        "What does fmean do?",
    )
    assert answer == "Convert data to floats and compute the mean. [statistics.fmean]"
    # Only the doctest example names it: matched on, not copied.
    answer = answer_from(
        "textwrap.shorten",
        "Otherwise the placeholder is appended:: >>> textwrap.shorten('Hello world!', width=11)",
        "What does shorten do?",
    )
    assert answer == "Otherwise the placeholder is appended:: [textwrap.shorten]"


def test_forms_of_do_match_nothing():
    answer = answer_from(
        "textwrap.dedent",
        "Remove common leading whitespace from lines. The function does not check tabs.",
        "What does dedent do to the leading whitespace?",
    )
    assert answer == "Remove common leading whitespace from lines. [textwrap.dedent]"
    assert answer_from("x", "The function does not check it.", "What does it do?") == (
        "No sentence of the retrieved context shares a word with the question."
    )


def test_sentences_end_at_full_stops_but_not_after_abbreviations():
    text = "Use cls (e.g. a subclass) to encode. Then  call it! No?\n\nNext i.e. last. Is no. Go."
    assert sentences(text) == [
        "Use cls (e.g. a subclass) to encode.",
        "Then  call it!",
        "No?",
        "Next i.e. last.",
        "Is no.",
        "Go.",
    ]


@pytest.mark.parametrize(
    ("sentence", "copied"),
    [
        ("csv.field_size_limit([limit]) Returns old limit.", "Returns old limit."),
        ("pair(a, b=(1, 2)) Return  the two\nas a tuple.", "Return the two as a tuple."),
        (
            "time.perf_counter perf_counter() -> float Performance counter for benchmarks.",
            "Performance counter for benchmarks.",
        ),
        ("Function close(word, n=3): Use a matcher to find them.", "Use a matcher to find them."),
        ("divmod(a, b) -> tuple[int, int] Return the pair.", "Return the pair."),
        ("gmtime(x) -> (tm_year, tm_mon) Convert seconds.", "Convert seconds."),
        ("Use resolve() to get the real path.", "Use resolve() to get the real path."),  # prose
        ("Encoding hierarchies:: >>> import json >>> json.dumps([1])", "Encoding hierarchies::"),
        ("if x: ...     return dct ... it ends", "if x:"),
        ("Install it with ```pip install x``` first.", "Install it with"),
        ("mean(data, Return the mean of data.", "mean(data, Return the mean of data."),
        ("Wait... then go.", "Wait... then go."),
    ],
)
def test_the_copy_stops_where_code_starts_and_drops_a_leading_signature(sentence, copied):
    assert copy_of(sentence) == copied


@pytest.mark.parametrize(
    "copy",
    [
        "Returns old limit.",
        "Caching is not free",  # parses as Python, but is no code
        "CPU or GPU here",
        "Version 2.0 was released on 12 May 2024.",
        "Return weekday (0-6 ~ Mon-Sun) for year, month (1-12), day (1-31).",
        "Equivalent to: sorted(iterable, key=key)[:n]",  # code inside prose stays
        "A nul\x00 byte in prose",
        'A path such as "C:\\data" is a string here.',  # an invalid escape for Python
    ],
)
def test_prose_is_copied_without_a_warning(copy):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert is_prose(copy)
    assert caught == []


@pytest.mark.parametrize(
    "copy",
    [
        "Returns old.",  # fewer than three words
        "from io import StringIO",  # Python statements
        "Usage: heap = [] # creates an empty heap",
        "print(value, end='') and more",
        "return [obj.real, obj.imag]",
        "f'is not JSON serializable') here",  # a chunk cut mid-call
        "mean(data, Return the mean of data.",  # the call never closes
        "==== ======== Calculate the sample covariance of two inputs",  # table rules
        "| name | what it is |",
        "s -> (s0, s1), (s1, s2), (s2, s3),",  # an iterator sketch
        "'B', 'C', 'C'] # Knuth's example for prime factors",  # a chunk cut mid-list
        "then does: for k in E: D[k] = E[k] and so on",  # an assignment that does not parse
    ],
)
def test_code_is_not_copied(copy):
    assert not is_prose(copy)


def test_the_document_title_run_into_its_first_sentence_is_not_copied():
    assert copy_of("csv.Error Common base class for errors.", "csv.Error") == (
        "Common base class for errors."
    )
    assert copy_of("csv.Error Common base class.", "csv.reader") == "csv.Error Common base class."


def test_citations_are_bracketed_ids_after_a_space_not_subscripts():
    answer = "Use heap[0] to peek. [heapq.heappop] Then D[k] is set. [json]\n[csv] last"
    assert CITATION.findall(answer) == ["heapq.heappop", "json", "csv"]


def test_the_summary_lists_the_evaluation_metrics_in_the_same_order_every_run():
    metrics = {"retrieval_hit": 1.0, "fact_recall": 0.5, "cites_retrieved_source": 1.0}
    summaries = [
        {
            "env": "local",
            "rows": {},
            "model_name": "m",
            "champion_version": 1,
            "seconds": {},
            "evaluation": {
                "model_version": 1,
                "questions": 3,
                "status": "PASSED",
                "metrics": dict(order),
            },
        }
        for order in (metrics.items(), reversed(metrics.items()))
    ]
    first, second = (format_summary(summary).splitlines()[3] for summary in summaries)
    expected = "(cites_retrieved_source=1.000, fact_recall=0.500, retrieval_hit=1.000)"
    assert first == second == f"evaluation of v1 on 3 questions: PASSED {expected}"


def test_the_summary_lists_the_monitor_alarms_when_the_monitor_ran():
    summary = {
        "env": "local",
        "rows": {},
        "model_name": "m",
        "champion_version": 1,
        "seconds": {"total": 1.0},
        "evaluation": {"model_version": 1, "questions": 3, "status": "PASSED", "metrics": {}},
    }
    alarm = "negative_feedback_share 1.00 > max_negative_feedback_share 0.3"
    assert "monitor alarms" not in format_summary(summary)  # no monitor step in this run
    for found in ([alarm], []):
        lines = format_summary({**summary, "steps": {"monitor": {"alarms": found}}}).splitlines()
        at = lines.index(f"monitor alarms: {len(found)}")
        assert lines[at + 1 : -1] == [f"  alarm: {text}" for text in found]
        assert lines[-1].startswith("seconds per step: ")


def test_text_that_breaks_the_python_parser_is_not_code():
    assert is_python("a" + "[0]" * 100_000) is False  # the parser's recursion limit
    assert is_python("(" * 300 + ")" * 300) is False  # too many nested parentheses


def test_the_model_file_defines_the_qa_model_without_a_warning():
    """MLflow runs qa_model.py each time it logs or loads the QA model: its predict is
    type-hinted, so MLflow warns nothing (it asks for type hints on every load otherwise)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runpy.run_path(str(MODEL_FILE))
    assert [str(warning.message) for warning in caught] == []


def test_index_step_creates_the_index_once_then_syncs_it():
    settings = load_rag_settings("staging")
    workspace = SimpleNamespace(vector_search_indexes=FakeIndexes(exists=False))
    table = settings.table("chunks")
    created = vector_search.ensure_index(workspace, settings, table)
    synced = vector_search.ensure_index(workspace, settings, table)
    assert (created["action"], synced["action"]) == ("created", "synced")
    kwargs = workspace.vector_search_indexes.calls[1][1]
    assert kwargs["primary_key"] == "chunk_id"
    assert kwargs["delta_sync_index_spec"].source_table == table
    source = kwargs["delta_sync_index_spec"].embedding_source_columns[0]
    assert source.embedding_model_endpoint_name == settings.embedding["endpoint"]
    assert workspace.vector_search_indexes.calls[-1] == ("sync", created["index"])


def test_an_index_created_with_other_settings_is_named_and_not_synced():
    settings = load_rag_settings("staging")
    indexes = FakeIndexes(exists=False)
    workspace = SimpleNamespace(vector_search_indexes=indexes)
    table = settings.table("chunks")
    vector_search.ensure_index(workspace, settings, table)
    search = settings.embedding["vector_search"]
    moved = {**settings.embedding, "vector_search": {**search, "endpoint": "other_endpoint"}}
    with pytest.raises(ValueError) as stopped:
        vector_search.ensure_index(workspace, replace(settings, embedding=moved), table)
    assert str(stopped.value).startswith(
        "embedding.vector_search.endpoint: 'other_endpoint', but the Vector Search index "
        f"{vector_search.index_name(settings)} was created with {search['endpoint']!r}"
    )
    with pytest.raises(ValueError, match=rf"^tables.chunks: 'c.s.other', but .* with '{table}'"):
        vector_search.ensure_index(workspace, settings, "c.s.other")
    assert [call[0] for call in indexes.calls] == ["get", "create", "get", "get"]  # no sync
    # Unity Catalog keeps names in lower case: the same table, however it is written.
    vector_search.ensure_index(workspace, settings, table.upper())
    assert indexes.calls[-1] == ("sync", vector_search.index_name(settings))


def test_vector_search_retriever_reads_rows_and_score():
    workspace = SimpleNamespace(vector_search_indexes=FakeIndexes(exists=True))
    (chunk,) = VectorSearchRetriever(workspace, "c.s.idx").retrieve("json?", 3)
    assert chunk == {
        "chunk_id": "json.dumps#0",
        "doc_id": "json.dumps",
        "title": "function json.dumps",
        "text": "Serialize obj",
        "score": 0.9,
    }
    assert workspace.vector_search_indexes.calls == [("query", "c.s.idx", "json?", 3)]


def test_settings_replace_keeps_derived_names():
    settings = replace(load_rag_settings("local"), catalog="other")
    assert settings.model_name == f"other.{settings.schema}.qa_pipeline"
    assert settings.prompt_name == f"other.{settings.schema}.qa_prompt"


def test_eval_set_has_46_questions_on_documents_of_the_default_corpus():
    items = load_eval_set()
    assert len(items) == 46  # the README states the number
    documents = set(corpus.python_stdlib(load_rag_settings("local").source["modules"]).doc_id)
    missing = {s for item in items for s in item["expected_sources"]} - documents
    assert missing == set()


GOOD_ITEM = {
    "question": "What does json.dumps return?",
    "expected_facts": ["JSON formatted str"],
    "expected_sources": ["json.dumps"],
}


def _with(**change) -> dict:
    """:data:`GOOD_ITEM` with ``change``; a value of None leaves the key out."""
    return {k: v for k, v in {**GOOD_ITEM, **change}.items() if v is not None}


@pytest.mark.parametrize(
    "item, problem",
    [
        # One string where a list belongs: its letters would be the facts, each found in
        # almost any answer; a lone source would leave the question out of every run.
        (
            _with(expected_facts="JSON formatted str"),
            "item 2: expected_facts: Input should be a valid list (got 'JSON formatted str')",
        ),
        (
            _with(expected_sources="json.dumps"),
            "item 2: expected_sources: Input should be a valid list (got 'json.dumps')",
        ),
        (
            _with(expected_facts=[]),
            "item 2: expected_facts: List should have at least 1 item after validation, not 0",
        ),
        (
            _with(expected_facts=["JSON", " "]),
            "item 2: expected_facts entry 2: String should have at least 1 character (got ' ')",
        ),
        (
            _with(expected_sources=[True]),  # what YAML makes of `yes`
            "item 2: expected_sources entry 1: Input should be a valid string (got True): YAML "
            "reads it as a number or true/false, quote it to keep it as text",
        ),
        (
            _with(expected_sources=["json.dumps", "json loads"]),  # no doc id: never indexed
            "item 2: expected_sources entry 2: a doc id holds no white space or ']' (answers "
            "cite it as [doc_id]) (got 'json loads')",
        ),
        (_with(question=None), "item 2: question: Field required"),
        (
            _with(expected_fact=["JSON"], expected_facts=None),
            "item 2: expected_fact: unknown key (did you mean expected_facts?)",
        ),
        (
            "What does json.dumps return?",
            "item 2: must be a mapping with the keys question, expected_facts, "
            "expected_sources (got 'What does json.dumps return?')",
        ),
        # A key YAML reads as a number, true/false or null (`1:`, `yes:`, `~:`).
        ({**GOOD_ITEM, 1: "x"}, "item 2: key 1 must be text: YAML reads it as int, quote it"),
        (
            {**GOOD_ITEM, True: "x"},
            "item 2: key True must be text: YAML reads it as bool, quote it",
        ),
        (
            {**GOOD_ITEM, None: "x"},
            "item 2: key None must be text: YAML reads it as NoneType, quote it",
        ),
        (
            {**GOOD_ITEM, "expected_facts": ["a str"]},
            "item 2: question: repeats item 1 (evaluation keys each answer by its question: "
            "give each question once)",
        ),
    ],
    ids=[
        "facts_string",
        "sources_string",
        "no_fact",
        "blank_fact",
        "yaml_boolean",
        "source_no_doc_id",
        "no_question",
        "misspelled",
        "not_a_mapping",
        "number_key",
        "boolean_key",
        "null_key",
        "repeated_question",
    ],
)
def test_a_bad_evaluation_item_is_refused_naming_the_item_and_field(item, problem):
    with pytest.raises(ValueError) as refused:
        parse_eval_set(yaml.safe_dump([GOOD_ITEM, item]))
    assert str(refused.value) == f"{EVAL_FILE} {problem}"


@pytest.mark.parametrize(
    "text, problem",
    [
        ("", " the file: Input should be a valid list (got None)"),
        ("[]", " the file: List should have at least 1 item after validation, not 0"),
        (
            "- question: [unclosed\n",
            ": not YAML: expected ',' or ']', but got '<stream end>' (line 2, column 1)",
        ),
        (
            "- question: 2013-02-30\n",
            ": not YAML: '2013-02-30' is not a date: day is out of range for month"
            " (line 1, column 13)",
        ),
    ],
    ids=["empty_file", "no_item", "not_yaml", "no_such_date"],
)
def test_an_evaluation_set_without_items_is_refused(text, problem):
    with pytest.raises(ValueError) as refused:
        parse_eval_set(text)
    assert str(refused.value) == f"{EVAL_FILE}{problem}"


def test_a_number_in_exponent_notation_stays_text_in_the_evaluation_set():
    """The evaluation set is read as YAML 1.1 (PyYAML's reading), not with the settings'
    YAML 1.2 floats: an unquoted ``1e5`` is text there, as a question or fact may be."""
    (item,) = parse_eval_set("- question: 1e5\n  expected_facts: [2E8]\n  expected_sources: [x]\n")
    assert (item["question"], item["expected_facts"]) == ("1e5", ["2E8"])


@pytest.mark.parametrize("command", ["run_all", "register_prompt", "build", "evaluate"])
@pytest.mark.parametrize(
    "broken, line",
    [
        (
            "eval_set",
            f"{EVAL_FILE} item 1: expected_sources: Input should be a valid list "
            "(got 'json.dumps')",
        ),
        ("prompt", f"{PROMPT_FILE}: the template must contain the question placeholder"),
    ],
)
def test_a_broken_packaged_file_stops_the_qa_pipeline_before_its_first_write(
    command, broken, line, tmp_path, monkeypatch, capsys
):
    # Not evaluate (or register-prompt), after ingest, index and build have written and
    # registered a version.
    from {{ cookiecutter.package_name }} import cli

    root = tmp_path / "local_root"
    monkeypatch.setenv(LOCAL_ROOT_VAR, str(root))
    if broken == "eval_set":
        bad = _with(expected_sources="json.dumps")
        monkeypatch.setattr(eval_set, "eval_set_text", lambda: yaml.safe_dump([bad]))
    else:
        monkeypatch.setattr(prompts, "packaged_prompt", lambda: "Answer from the context.")
    assert getattr(cli, command)(["--env", "local"]) == 1
    assert capsys.readouterr().err == f"error: {line}\n"
    assert not root.exists()  # no table, no MLflow store, no Spark warehouse


@pytest.mark.parametrize("name", [EVAL_FILE, PROMPT_FILE])
def test_a_packaged_file_that_is_not_utf8_is_named_before_the_first_write(
    name, tmp_path, monkeypatch, capsys
):
    package = tmp_path / "package"
    (package / "conf").mkdir(parents=True)
    for real in (EVAL_FILE, PROMPT_FILE):
        (package / real).write_text(packaged.packaged_text(real), encoding="utf-8")
    latin1 = "# Évaluation\n".encode("latin-1")  # what an editor saving Latin-1 writes
    (package / name).write_bytes(latin1 + (package / name).read_bytes())
    monkeypatch.setattr(packaged, "resources", SimpleNamespace(files=lambda _: package))
    root = tmp_path / "local_root"
    monkeypatch.setenv(LOCAL_ROOT_VAR, str(root))
    from {{ cookiecutter.package_name }} import cli

    assert cli.evaluate(["--env", "local"]) == 1
    assert capsys.readouterr().err == (
        f"error: {name}: not UTF-8 text (byte 2: invalid continuation byte)\n"
    )
    assert not root.exists()


def _compared_on(questions: int, candidate: dict, champion: dict) -> dict:
    """:func:`compared` of a candidate and a champion that scored ``candidate`` and
    ``champion`` (metric -> value) on each of ``questions`` questions."""
    asked = [f"question {i}" for i in range(questions)]
    return compared(dict.fromkeys(asked, candidate), dict.fromkeys(asked, champion), asked)


def test_the_relative_gate_allows_a_small_drop_below_the_champion_not_a_larger_one():
    gates = load_rag_settings("local").evaluation  # max_relative_degradation 0.05
    champion = {"retrieval_hit": 1.0, "fact_recall": 0.8, "cites_retrieved_source": 1.0}
    small, large = {**champion, "fact_recall": 0.77}, {**champion, "fact_recall": 0.75}
    assert gate(small, gates, champion, _compared_on(10, small, champion)) == []  # 3.75 % lower
    (reason,) = gate(large, gates, champion, _compared_on(10, large, champion))  # 6.25 % lower
    assert reason == (
        "fact_recall 0.750 < champion 0.800 less max_relative_degradation 5% "
        "(on the 10 questions both answered)"
    )
    assert gate(large, gates) == []  # no champion: floors only


def test_the_relative_gate_needs_min_questions_answered_by_both():
    """Fewer questions answered by both than ``min_questions`` (10) compare too little:
    as with a champion that answered none, only the floors apply."""
    gates = load_rag_settings("local").evaluation
    champion = {"retrieval_hit": 1.0, "fact_recall": 0.8, "cites_retrieved_source": 1.0}
    large = {**champion, "fact_recall": 0.75}
    assert gate(large, gates, champion, _compared_on(9, large, champion)) == []
    assert len(gate(large, gates, champion, _compared_on(10, large, champion))) == 1


COMPLETE = {"retrieval_hit": 0.9, "fact_recall": 0.9, "cites_retrieved_source": 0.9}


@pytest.mark.parametrize(
    ("candidate", "champion", "line"),
    [
        (
            {**COMPLETE, "retrieval_hit": float("nan")},
            None,
            "candidate: metric retrieval_hit is nan",
        ),
        (
            {"fact_recall": 0.9, "cites_retrieved_source": 0.9},
            None,
            "candidate: metric retrieval_hit is missing",
        ),
        (
            COMPLETE,
            {**COMPLETE, "fact_recall": float("nan")},
            "champion: metric fact_recall is nan",
        ),
        (
            COMPLETE,
            {"retrieval_hit": 0.9, "fact_recall": 0.9},
            "champion: metric cites_retrieved_source is missing",
        ),
    ],
)
def test_a_missing_or_nan_metric_fails_the_gate_in_one_line(candidate, champion, line):
    gates = load_rag_settings("local").evaluation
    assert gate(candidate, gates, champion) == [line]


def test_the_questions_gate_takes_its_minimum_and_refuses_one_fewer():
    gates = load_rag_settings("local").evaluation
    assert gates["min_questions"] == 10  # the default of conf/config.yml
    assert too_few_questions(10, gates) == []
    assert too_few_questions(9, gates) == ["questions 9 < min_questions 10"]


def test_the_questions_gate_holds_on_every_corpus_the_project_ships_settings_for():
    # The whole corpus (local), the CI slice, the `test` target's slice and the tests' own
    # slice evaluate at least the gate's minimum of questions, or their first run would be
    # refused. The counts are pinned: a change to the eval set or a corpus shows up here.
    items = load_eval_set()
    ci_slice = Path(__file__).resolve().parents[2] / "ci" / "data-slice.yml"
    evaluable = {}
    for name, env, override in (
        ("local", "local", None),
        ("ci slice", "local", ci_slice),
        ("test", "test", None),
    ):
        settings = load_rag_settings(env, override)
        assert settings.evaluation["min_questions"] == 10
        # CI's runs (its slice, the `test` target) fail on a rejected candidate; local not.
        assert settings.evaluation["fail_on_rejection"] is (name != "local")
        documents = set(corpus.python_stdlib(settings.source["modules"]).doc_id)
        evaluable[name] = len(as_eval_data(items, documents))
    evaluable["tests slice"] = len(as_eval_data(items, set(corpus.python_stdlib(SLICE).doc_id)))
    assert evaluable == {"local": 46, "ci slice": 26, "test": 26, "tests slice": 17}


def test_code_scorers_count_a_hit_in_the_first_k_sources_and_facts_in_any_case_or_spacing():
    item = {
        "question": "What does json.dumps return?",
        "expected_facts": ["`json.dumps` returns a str", "sort_keys"],
        "expected_sources": ["json.dumps"],
    }
    (row,) = as_eval_data([item], {"json.dumps"})
    expected = row["expectations"]
    sources = ["json.loads", "json.JSONEncoder", "json.dumps"]  # the expected one third
    answer = {"answer": "JSON.DUMPS  returns\na   Str. [json.dumps]", "sources": sources}
    hits = [retrieval_hit(k)(outputs=answer, expectations=expected) for k in (1, 2, 3, 5)]
    assert hits == [0.0, 0.0, 1.0, 1.0]
    # One fact of two is in the answer once case, backticks and white space are ignored.
    assert fact_recall(outputs=answer, expectations=expected) == 0.5
    other_fact = {**answer, "answer": "It returns a str; sort keys with sort_keys=True."}
    assert fact_recall(outputs=other_fact, expectations=expected) == 0.5
    assert fact_recall(outputs=answer, expectations={**expected, "expected_facts": []}) == 0.0


def test_llm_judges_only_with_a_judge_endpoint():
    assert judge_scorers(None) == [] and judge_scorers("") == []
    judges = judge_scorers("databricks:/judge-endpoint")
    assert [type(j).__name__ for j in judges] == ["Correctness", "RelevanceToQuery"]
    assert [scored_or_raised(j).name for j in judges] == ["correctness", "relevance_to_query"]


def judge_giving(value):
    """A judge scorer named ``correctness`` that returns ``value``, or raises it when it is
    an exception."""

    @scorer(name="correctness")
    def judge(outputs):
        if isinstance(value, Exception):
            raise value
        return value

    return judge


def test_a_judge_score_that_is_not_finite_becomes_the_judges_error_the_rest_passes_through():
    """A NaN or infinite score, as a Python or numpy number or as a Feedback's value,
    raises ValueError naming the judge (evaluate counts the question unjudged); a rating
    (with the judge's rationale, metadata and source, which evaluate logs on the
    assessment), a finite score and the judge's own error come through as they are."""
    answer = {"answer": "It returns a str. [json.dumps]"}
    nan_feedback = Feedback(name="correctness", value=math.nan)
    not_finite = [math.nan, np.float64("nan"), -math.inf, nan_feedback]
    for value in not_finite:
        with pytest.raises(ValueError, match=r"^judge correctness gave no score \((nan|-inf)\)$"):
            scored_or_raised(judge_giving(value)).run(outputs=answer)
    judged = Feedback(
        name="correctness",
        value="yes",
        rationale="The answer states the fact.",
        metadata={"judge_tokens": "12"},
        source=AssessmentSource(source_type="LLM_JUDGE", source_id="databricks:/judge-endpoint"),
    )
    rating = scored_or_raised(judge_giving(judged)).run(outputs=answer)
    assert (rating.value, rating.rationale, rating.metadata, rating.source) == (
        "yes",
        "The answer states the fact.",
        {"judge_tokens": "12"},
        AssessmentSource(source_type="LLM_JUDGE", source_id="databricks:/judge-endpoint"),
    )
    assert scored_or_raised(judge_giving(np.float64(0.25))).run(outputs=answer) == 0.25
    with pytest.raises(RuntimeError, match="^judge endpoint: HTTP 500$"):
        scored_or_raised(judge_giving(RuntimeError("judge endpoint: HTTP 500"))).run(outputs=answer)


def test_a_checked_judge_has_the_scorer_digest_of_its_own_definition():
    """MLflow records on each assessment the digest of its scorer's definition: a judge
    checked by scored_or_raised has the judge's own, so judges of the same name on other
    endpoints differ there and judges of one definition agree."""
    on_a, on_b, on_a_again = (
        judge_scorers(f"databricks:/{endpoint}") for endpoint in ("judge-a", "judge-b", "judge-a")
    )
    for a, b, a_again in zip(on_a, on_b, on_a_again, strict=True):
        digest = [get_scorer_definition_digest(scored_or_raised(j)) for j in (a, b, a_again)]
        assert digest[0] != digest[1]
        assert digest[0] == digest[2]
        assert digest == [get_scorer_definition_digest(j) for j in (a, b, a_again)]
        assert all(d.startswith("sha256:") for d in digest)


def test_a_checked_judge_loaded_back_from_its_definition_is_the_bare_judge():
    """As scored_or_raised's model_dump says: its definition is the judge's, so a copy
    loaded from it (a registered scorer, say) is the judge, without the check."""
    (judge, _) = judge_scorers("databricks:/judge-a")
    loaded = Scorer.model_validate(scored_or_raised(judge).model_dump())
    assert type(loaded) is type(judge) and loaded.model_dump() == judge.model_dump()


def test_evaluate_records_the_checked_judges_own_digest_on_its_assessment(store_ctx):
    """The ``mlflow.assessment.scorerDigest`` metadata of a checked judge's assessment,
    as ``mlflow.genai.evaluate`` records it, is the judge's digest, not the check's."""
    store_ctx.mlflow()
    judge = judge_giving(0.5)
    row = {"inputs": {"question": "What does json.dumps return?"}, "outputs": {"answer": "A str."}}
    result = mlflow.genai.evaluate(data=[row], scorers=[scored_or_raised(judge)])
    (assessments,) = result.result_df["assessments"]
    (judged,) = [a for a in assessments if a["assessment_name"] == "correctness"]
    recorded = judged["metadata"]["mlflow.assessment.scorerDigest"]
    assert (judged["feedback"], recorded) == ({"value": 0.5}, get_scorer_definition_digest(judge))


class FakeSecrets:
    """``dbutils.secrets`` of a fake WorkspaceClient: a dict of (scope, key) -> value."""

    def __init__(self, values: dict):
        self.values = values
        self.reads: list[tuple[str, str]] = []

    def get(self, scope: str, key: str) -> str:
        self.reads.append((scope, key))
        if (scope, key) not in self.values:
            raise NotFound(f"secret {scope}/{key} does not exist")
        return self.values[(scope, key)]


def test_generator_key_comes_from_the_databricks_secret_scope(tmp_path, monkeypatch):
    secrets = FakeSecrets({("qa-secrets", "generator-token"): "dapi-from-scope"})
    workspace = SimpleNamespace(dbutils=SimpleNamespace(secrets=secrets))
    monkeypatch.setattr(databricks.sdk, "WorkspaceClient", lambda: workspace)
    monkeypatch.delenv("QA_GENERATOR_API_KEY", raising=False)
    path = tmp_path / "generator.yml"
    generator = {
        "kind": "chat_completions",
        "url": "https://example.cloud.databricks.com/serving-endpoints",
        "model": "databricks-meta-llama-3-3-70b-instruct",
        "secret_scope": "qa-secrets",
        "secret_key": "generator-token",
    }
    path.write_text(yaml.safe_dump({"generator": generator}), encoding="utf-8")

    staging = load_rag_settings("staging", path)
    assert make_generator(staging.generator, staging.runtime).api_key == "dapi-from-scope"
    assert secrets.reads == [("qa-secrets", "generator-token")]

    # the environment variable wins: the scope is not read
    monkeypatch.setenv("QA_GENERATOR_API_KEY", "key-from-env")
    assert make_generator(staging.generator, staging.runtime).api_key == "key-from-env"
    # locally the scope is never read
    monkeypatch.delenv("QA_GENERATOR_API_KEY")
    local = load_rag_settings("local", path)
    assert make_generator(local.generator, local.runtime).api_key is None
    assert secrets.reads == [("qa-secrets", "generator-token")]

    # a secret that is not in the scope: the workspace's error, not a silent None
    missing = {**staging.generator, "secret_key": "no-such-key"}
    with pytest.raises(NotFound, match="qa-secrets/no-such-key"):
        make_generator(missing, "databricks")


def test_a_failing_entry_point_run_as_a_program_raises_its_exit_status(monkeypatch, capsys):
    # A Databricks python_wheel_task calls the entry point with no arguments (it reads
    # sys.argv) and may ignore a returned value: a failure must raise SystemExit.
    from {{ cookiecutter.package_name }} import cli

    monkeypatch.setattr(sys, "argv", ["index", "--env", "no_such_env"])
    with pytest.raises(SystemExit) as exited:
        cli.index()
    assert exited.value.code == 1
    line = capsys.readouterr().err.strip()
    assert line.startswith("error: ") and "no_such_env" in line and "\n" not in line
    assert cli.index(["--env", "no_such_env"]) == 1


def test_the_monitoring_window_starts_at_midnight_utc_of_its_first_day():
    now = datetime(2026, 12, 2, 4, 30, tzinfo=UTC)
    assert window_start(now, 7) == datetime(2026, 11, 26, tzinfo=UTC)
    assert window_start(now, 1) == datetime(2026, 12, 2, tzinfo=UTC)
    # The same instant in New York is 23:30 on December 1: the window is UTC days.
    assert window_start(now.astimezone(ZoneInfo("America/New_York")), 1) == datetime(
        2026, 12, 2, tzinfo=UTC
    )


class DocIds:
    """What evaluate reads of the chunk table (select, distinct, collect): ``ids`` as rows."""

    def __init__(self, ids):
        self.rows = [SimpleNamespace(doc_id=i) for i in ids]

    def select(self, *columns):
        return self

    def distinct(self):
        return self

    def collect(self):
        return self.rows


def test_evaluate_and_deploy_take_a_version_as_number_or_text_alike(store_ctx, monkeypatch):
    """A store answering the candidate's version as 3 and the champion's as "3" (stores
    differ): evaluate does not take v3 for another champion to compare it with, and deploy
    says v3 is already the champion. No Spark: the registry and the chunk table are fakes."""
    candidate = SimpleNamespace(
        name=store_ctx.settings.model_name, version=3, run_id="r3", tags={STATUS_TAG: "PASSED"}
    )
    champion = SimpleNamespace(version="3", run_id="r3")
    assert model_deploy.refusal(candidate, champion, "evaluate") == "v3 is already the champion"

    written = {}
    fake = SimpleNamespace(set_registered_model_alias=lambda name, alias, version: None)
    monkeypatch.setattr(evaluate, "client", lambda: fake)
    monkeypatch.setattr(evaluate, "latest_version", lambda registry, name, registered_by: candidate)
    monkeypatch.setattr(evaluate, "version_by_alias", lambda registry, name, alias: champion)
    monkeypatch.setattr(evaluate, "write_verdict", lambda r, n, v, tags: written.update(tags))
    disabled = {**store_ctx.settings.evaluation, "mode": "disabled"}  # nothing to score
    ctx = Context(replace(store_ctx.settings, evaluation=disabled))
    sources = {s for item in load_eval_set() for s in item["expected_sources"]}
    ctx.tables = SimpleNamespace(read=lambda name, step: DocIds(sources))
    verdict = evaluate.run(ctx)
    assert (verdict["model_version"], verdict["champion_version"]) == (3, None)
    assert written["validation_champion_version"] == "none"
