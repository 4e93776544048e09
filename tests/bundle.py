"""Reading a rendered Databricks bundle and checking it against the bundle JSON schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import regress
import yaml

# What `databricks bundle schema` printed; scripts/refresh_bundle_schema.sh renews it.
SCHEMA_PATH = Path(__file__).with_name("data") / "databricks-bundle.schema.json"


def load_bundle(project: Path) -> tuple[dict, dict[Path, dict]]:
    """``databricks.yml`` and every file it includes, each parsed on its own."""
    root = yaml.safe_load((project / "databricks.yml").read_text(encoding="utf-8"))
    included = {}
    for pattern in root.get("include", []):
        for path in sorted(project.glob(pattern)):
            included[path] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return root, included


def merged_resources(project: Path) -> dict[str, dict]:
    """All resources of the bundle by kind (``jobs``, ``experiments``, ...), across files.

    Fails the test when two files define the same resource key.
    """
    root, included = load_bundle(project)
    merged: dict[str, dict] = {}
    for document in [root, *included.values()]:
        for kind, items in (document.get("resources") or {}).items():
            bucket = merged.setdefault(kind, {})
            clash = set(bucket) & set(items)
            assert not clash, f"resources.{kind}: {sorted(clash)} defined twice"
            bucket.update(items)
    return merged


def bundle_schema() -> dict:
    """The bundle JSON schema kept in this repo (``SCHEMA_PATH``, see its .md note)."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def _ecma_pattern(validator, pattern, instance, schema):
    """`pattern` with ECMA-262 regexes: the schema uses \\p{L}, which Python's re lacks."""
    if validator.is_type(instance, "string") and regress.Regex(pattern, "u").find(instance) is None:
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def schema_validator(schema: dict) -> jsonschema.protocols.Validator:
    """A validator for the schema's declared draft (2020-12 when it declares none)."""
    base = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    ecma = jsonschema.validators.extend(base, {"pattern": _ecma_pattern})
    return ecma(schema)


def schema_errors(validator, document: dict) -> list[str]:
    """Readable schema errors of one document: the path in the document, then the message."""
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    return ["/".join(map(str, e.absolute_path)) + ": " + _best(e) for e in errors]


def _best(error: jsonschema.ValidationError) -> str:
    return jsonschema.exceptions.best_match([error]).message[:300]
