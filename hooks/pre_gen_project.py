"""Pre-generation: refuse answers that would render a bundle Databricks cannot deploy.

Checks the workspace URLs (https, a host and nothing after it), the Unity Catalog
names (letters, digits and underscores) and that the branches and the reader
group are not empty. Exits with status 1 and one line per problem.
"""

import re
import sys
from urllib.parse import urlparse

HOSTS = {
    "databricks_staging_workspace_host": """{{ cookiecutter.databricks_staging_workspace_host }}""",
    "databricks_prod_workspace_host": """{{ cookiecutter.databricks_prod_workspace_host }}""",
}
UC_NAMES = {
    "catalog_dev": """{{ cookiecutter.catalog_dev }}""",
    "catalog_staging": """{{ cookiecutter.catalog_staging }}""",
    "catalog_prod": """{{ cookiecutter.catalog_prod }}""",
    "catalog_test": """{{ cookiecutter.catalog_test }}""",
    "schema_name": """{{ cookiecutter.schema_name }}""",
}
NON_EMPTY = {
    "default_branch": """{{ cookiecutter.default_branch }}""",
    "release_branch": """{{ cookiecutter.release_branch }}""",
    "read_user_group": """{{ cookiecutter.read_user_group }}""",
}
UC_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def problems(hosts, uc_names, non_empty):
    """One message per answer that breaks its rule."""
    found = []
    for key, url in hosts.items():
        parts = urlparse(url)
        extra = parts.path not in ("", "/") or parts.query or parts.fragment
        if parts.scheme != "https" or not parts.hostname or extra:
            found.append(f"{key}: {url!r} is not a workspace URL like https://<host>")
    for key, name in uc_names.items():
        if not UC_NAME.match(name):
            found.append(f"{key}: {name!r} must be letters, digits and underscores")
    catalogs = [v for k, v in uc_names.items() if k.startswith("catalog_")]
    if len(set(catalogs)) != len(catalogs):
        found.append("catalog_*: every target needs a catalog of its own")
    for key, value in non_empty.items():
        if not value.strip() or value != value.strip():
            found.append(f"{key}: must not be empty or padded with spaces")
    return found


def main():
    found = problems(HOSTS, UC_NAMES, NON_EMPTY)
    for message in found:
        print(f"error: {message}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
