#!/usr/bin/env bash
# Refresh tests/data/databricks-bundle.schema.json from the installed Databricks CLI
# (`databricks bundle schema`) and record the CLI version and date in its .md note.
# Usage: scripts/refresh_bundle_schema.sh   (needs `databricks` on PATH; no workspace login)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v databricks >/dev/null || { echo "databricks CLI not on PATH" >&2; exit 1; }
version="$(databricks --version | grep -Eo '[0-9]+\.[0-9]+\.[0-9]+' | head -n 1)"
pinned="$(python3 -c 'import json; print(json.load(open("cookiecutter.json"))["__databricks_cli_version"])')"
[ "$version" = "$pinned" ] || echo "note: CLI $version differs from __databricks_cli_version $pinned" >&2
out=tests/data/databricks-bundle.schema.json
trap 'rm -f "$out.tmp"' EXIT
databricks bundle schema > "$out.tmp"
# Refuse to keep anything that is not JSON (a CLI error, a login prompt).
python3 -m json.tool "$out.tmp" >/dev/null 2>&1 || {
  echo "databricks bundle schema printed no JSON: kept $out as it was" >&2
  exit 1
}
mv "$out.tmp" "$out"
cat > tests/data/databricks-bundle.schema.md <<NOTE
# databricks-bundle.schema.json

The JSON schema of Databricks Asset Bundle files (\`databricks.yml\`, \`resources/*.yml\`), as printed
by \`databricks bundle schema\` of the Databricks CLI $version on $(date -u +%Y-%m-%d).
tests/test_bundle.py validates every rendered bundle file against it.

Refresh it where the CLI is installed: \`scripts/refresh_bundle_schema.sh\` (writes this file's
date and the CLI version it ran).
NOTE
echo "wrote $out (Databricks CLI $version)"
