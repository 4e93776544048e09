"""Step 4, build: log the QA pipeline as an MLflow model from code and register it.

The pipeline is the prompt version the challenger alias points at, the current
chunk table (snapshotted into the model as the ``index`` artifact, unless a
Vector Search index serves retrieval), the retriever and the generator of the
config. A new model version is registered only when the prompt (its name or its
version), the index version or the pipeline settings (retrieval, generator,
embedding) differ from the newest registered version; otherwise that version is
handed on. They are tags of the model version: ``prompt_name``, ``prompt_version``,
``index_version``, ``pipeline_digest``. A version number alone does not name a
prompt: after ``model.prompt`` is renamed, version 1 of the new prompt is not
version 1 of the old one, so the name is compared too.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import warnings
from pathlib import Path

import mlflow

from ...registry import latest_version
from ...runtime.context import Context
from ...runtime.frames import to_pandas
from ...runtime.tracking import client
from ..index_version import index_version
from ..packaged import PACKAGE_DIR
from ..pipeline import SIGNATURE
from ..prompts import checked_template, prompt_by_alias

MODEL_FILE = Path(__file__).resolve().parents[1] / "qa_model.py"
PIP_REQUIREMENTS = [
    f"mlflow=={mlflow.__version__}",
    "pandas>=2.2,<3",
    "pyarrow>=15,<27",
    "numpy>=1.26,<3",
    "scikit-learn>=1.5,<2",
    "scipy>=1.13,<2",
    "pyyaml>=6,<7",
    "databricks-sdk",
]
VERSION_TAGS = ("prompt_name", "prompt_version", "index_version", "pipeline_digest")


def pipeline_config(settings, prompt, index: str) -> dict:
    """The model config logged with the model (the config never holds credentials)."""
    vector_search = None
    if settings.embedding["kind"] == "databricks_endpoint":
        from ..vector_search import index_name

        vector_search = index_name(settings)
    return {
        "prompt_name": settings.prompt_name,
        "prompt_version": int(prompt.version),
        "prompt_template": prompt.template,
        "index_version": index,
        "retrieval": dict(settings.retrieval),
        "generator": dict(settings.generator),
        "n_features": int(settings.embedding.get("n_features") or 0),
        "vector_search_index": vector_search,
        "runtime": settings.runtime,
    }


def digest(config: dict) -> str:
    """12 hex digits over the retrieval, generator and embedding settings of ``config``."""
    keys = ("retrieval", "generator", "n_features", "vector_search_index")
    text = json.dumps({k: config[k] for k in keys}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def run(ctx: Context) -> dict:
    """Register a new QA model version when a version tag would change; else hand on the newest.

    The version tags (``VERSION_TAGS``) are the prompt's name and version, the index
    version and the pipeline digest, written by the call that creates the version; the
    newest version is handed on only when it is READY and its tags match (a version
    registered without ``prompt_name`` is not).

    Returns model_version (int), registered (bool), prompt_version (int),
    index_version (str), pipeline_digest and run_id (None when handed on).
    Raises LookupError when the prompt has no challenger alias (run register-prompt),
    ValueError when that prompt version is no text template (a chat prompt), has a
    placeholder other than ``context`` and ``question`` or lacks ``question``, naming the
    prompt and version (:func:`..prompts.checked_template`), both before anything is
    written, and
    MissingTableError when the chunk table is missing (run index).
    """
    settings = ctx.settings
    ctx.mlflow()
    prompt = prompt_by_alias(settings.prompt_name, settings.challenger_alias)
    if prompt is None:
        raise LookupError(
            f"prompt {settings.prompt_name} has no '{settings.challenger_alias}' alias: "
            "run register-prompt first"
        )
    # register-prompt checks the file; a version set by hand in the registry is checked here.
    alias = settings.challenger_alias
    checked_template(
        prompt.template, f"prompt {settings.prompt_name} version {prompt.version} ('{alias}')"
    )
    chunks = to_pandas(ctx.tables.read(settings.table("chunks"), "the index step"))
    config = pipeline_config(settings, prompt, index_version(chunks))
    tags = {
        "prompt_name": settings.prompt_name,
        "prompt_version": str(prompt.version),
        "index_version": config["index_version"],
        "pipeline_digest": digest(config),
    }
    registry = client()
    try:
        newest = latest_version(registry, settings.model_name, registered_by="build")
    except LookupError:
        newest = None
    # Only a finished version is handed on: on Unity Catalog a version whose files failed
    # to upload stays PENDING_REGISTRATION or FAILED_REGISTRATION, with its tags.
    finished = newest is not None and newest.status == "READY"
    if finished and all(newest.tags.get(k) == tags[k] for k in VERSION_TAGS):
        return {
            "model_version": int(newest.version),
            "registered": False,
            "prompt_version": int(prompt.version),
            "index_version": tags["index_version"],
            "pipeline_digest": tags["pipeline_digest"],
            "run_id": None,
        }
    columns = ["chunk_id", "doc_id", "title", "text", "embedding_indices", "embedding_values"]
    with tempfile.TemporaryDirectory() as folder, mlflow.start_run(run_name="build") as active:
        artifacts = {}
        if config["vector_search_index"] is None:
            snapshot = Path(folder) / "index.parquet"
            chunks[columns].to_parquet(snapshot, index=False)
            artifacts["index"] = str(snapshot)
        mlflow.log_params({**tags, "chunks": len(chunks)})
        with warnings.catch_warnings():
            # No input example: MLflow would answer it while logging, a call to the
            # generator endpoint (and its credential) at every build. The signature
            # declares the input instead.
            warnings.filterwarnings("ignore", message=".*input example was not provided")
            info = mlflow.pyfunc.log_model(
                name="qa_pipeline",
                python_model=str(MODEL_FILE),
                model_config=config,
                artifacts=artifacts,
                code_paths=[str(PACKAGE_DIR)],
                pip_requirements=PIP_REQUIREMENTS,
                signature=SIGNATURE,
                # The version is created with its tags in one call: never left untagged
                # (a build that failed between registering and tagging left a version
                # the next build did not hand on, so a rerun registered a second one).
                registered_model_name=settings.model_name,
                tags=tags,
            )
    version = info.registered_model_version
    return {
        "model_version": int(version),
        "registered": True,
        "prompt_version": int(prompt.version),
        "index_version": tags["index_version"],
        "pipeline_digest": tags["pipeline_digest"],
        "run_id": active.info.run_id,
    }
