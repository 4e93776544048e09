"""Reading the CI/CD files of a rendered project, whichever platform it uses.

Three readers per platform: ``READERS`` give ``{job name: the shell text the job runs}``,
``STAGE_READERS`` the jobs in the order they run, grouped by stage, and
``CONDITION_READERS`` ``{job name: the text of the conditions that decide whether it runs}``.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

CI_FILES = {  # platform -> the files (globs) only that platform may have
    "github_actions": [".github/workflows/*.yml"],
    "gitlab": [".gitlab-ci.yml"],
    "azure_devops": ["azure-pipelines.yml"],
}
GITLAB_KEYWORDS = {"stages", "variables", "workflow", "default", "include", "image", "cache"}


def ci_paths(project: Path) -> list[Path]:
    """Every CI file of any platform that exists in ``project``."""
    return sorted(p for globs in CI_FILES.values() for g in globs for p in project.glob(g))


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def github_jobs(project: Path) -> dict[str, str]:
    jobs = {}
    for path in sorted(project.glob(".github/workflows/*.yml")):
        for name, job in _load(path)["jobs"].items():
            jobs[name] = "\n".join(step.get("run", "") for step in job.get("steps", []))
    return jobs


def gitlab_jobs(project: Path) -> dict[str, str]:
    document = _load(project / ".gitlab-ci.yml")
    return {
        name: "\n".join(job["script"])
        for name, job in document.items()
        if not name.startswith(".") and name not in GITLAB_KEYWORDS and isinstance(job, dict)
    }


def _azure_step_text(step: dict) -> str:
    return step.get("bash") or step.get("script") or step.get("inputs", {}).get("inlineScript", "")


def azure_jobs(project: Path) -> dict[str, str]:
    jobs = {}
    for stage in _load(project / "azure-pipelines.yml")["stages"]:
        for job in stage["jobs"]:
            name = job.get("job") or job.get("deployment")
            steps = job.get("steps") or job["strategy"]["runOnce"]["deploy"]["steps"]
            jobs[name] = "\n".join(_azure_step_text(step) for step in steps)
    return jobs


READERS = {"github_actions": github_jobs, "gitlab": gitlab_jobs, "azure_devops": azure_jobs}


def _github_workflow_jobs(project: Path) -> dict[str, dict]:
    jobs = {}
    for path in sorted(project.glob(".github/workflows/*.yml")):
        jobs.update(_load(path)["jobs"])
    return jobs


def github_stages(project: Path) -> list[tuple[str | None, list[str]]]:
    """Jobs grouped by their depth in the ``needs`` graph (GitHub has no stages; no names)."""
    jobs = _github_workflow_jobs(project)
    depth: dict[str, int] = {}

    def level(name: str) -> int:
        if name not in depth:
            needs = jobs[name].get("needs", [])
            needs = [needs] if isinstance(needs, str) else needs
            depth[name] = 1 + max((level(n) for n in needs), default=-1)
        return depth[name]

    for name in jobs:
        level(name)
    return [
        (None, sorted(n for n in jobs if depth[n] == d)) for d in range(max(depth.values()) + 1)
    ]


def gitlab_stages(project: Path) -> list[tuple[str | None, list[str]]]:
    """``stages`` in order, each with the jobs that declare it."""
    document = _load(project / ".gitlab-ci.yml")
    jobs = {name: job for name, job in document.items() if name in gitlab_jobs(project)}
    return [
        (stage, sorted(n for n, job in jobs.items() if job.get("stage") == stage))
        for stage in document["stages"]
    ]


def azure_stages(project: Path) -> list[tuple[str | None, list[str]]]:
    """``stages`` in file order, each with its jobs; fails the test when a stage's
    ``dependsOn`` is not the stage before it (the file order would then not be the run order)."""
    stages = _load(project / "azure-pipelines.yml")["stages"]
    out = []
    for index, stage in enumerate(stages):
        expected = stages[index - 1]["stage"] if index else None
        assert stage.get("dependsOn") == expected, f"{stage['stage']} dependsOn"
        names = [job.get("job") or job.get("deployment") for job in stage["jobs"]]
        out.append((stage["stage"], sorted(names)))
    return out


STAGE_READERS = {
    "github_actions": github_stages,
    "gitlab": gitlab_stages,
    "azure_devops": azure_stages,
}


def github_conditions(project: Path) -> dict[str, str]:
    return {name: str(job.get("if", "")) for name, job in _github_workflow_jobs(project).items()}


def gitlab_conditions(project: Path) -> dict[str, str]:
    """Each job's ``rules`` conditions (the ``workflow`` rules apply to every job alike)."""
    document = _load(project / ".gitlab-ci.yml")
    return {
        name: " ".join(str(rule.get("if", "")) for rule in document[name].get("rules", []))
        for name in gitlab_jobs(project)
    }


def azure_conditions(project: Path) -> dict[str, str]:
    """Each job's condition joined with its stage's."""
    out = {}
    for stage in _load(project / "azure-pipelines.yml")["stages"]:
        for job in stage["jobs"]:
            name = job.get("job") or job.get("deployment")
            out[name] = " ".join(filter(None, [stage.get("condition"), job.get("condition")]))
    return out


# What marks a condition as "pushes only, never pull/merge requests" on each platform.
PUSH_ONLY = {
    "github_actions": "github.event_name == 'push'",
    "gitlab": '$CI_PIPELINE_SOURCE == "push"',
    "azure_devops": "ne(variables['Build.Reason'], 'PullRequest')",
}

CONDITION_READERS = {
    "github_actions": github_conditions,
    "gitlab": gitlab_conditions,
    "azure_devops": azure_conditions,
}


# What a job can sign in to Databricks with: the workspaces (staging, prod) whose
# principal, service connection, variable group or client id it names, and "id-token" when
# the platform hands it an OpenID Connect token.
_WORKSPACE = re.compile(r"DATABRICKS_(STAGING|PROD)_\w+|databricks-(staging|prod)\b")
ID_TOKEN = "id-token"


def _workspaces(*parts) -> set[str]:
    text = yaml.safe_dump(list(parts))
    return {(a or b).lower() for a, b in _WORKSPACE.findall(text)}


def github_credentials(project: Path) -> dict[str, set[str]]:
    """The workspaces of the Databricks variables in the workflow's, each job's and its
    steps' ``env``, the job's deployment environment (which may hold its own variables),
    and "id-token" when the job's permissions (else the workflow's) grant it."""
    out = {}
    for path in sorted(project.glob(".github/workflows/*.yml")):
        workflow = _load(path)
        for name, job in workflow["jobs"].items():
            envs = [workflow.get("env"), job.get("env")]
            found = _workspaces(*envs, *(step.get("env") for step in job.get("steps", [])))
            found |= {job["environment"]} & {"staging", "prod"} if "environment" in job else set()
            permissions = job.get("permissions", workflow.get("permissions", {}))
            if permissions == "write-all" or (
                isinstance(permissions, dict) and permissions.get("id-token") == "write"
            ):
                found.add(ID_TOKEN)
            out[name] = found
    return out


def _gitlab_resolved(document: dict, name: str) -> dict:
    """A job with its ``extends`` templates merged in (the job's own keys win, maps merge)."""
    job = document[name]
    parents = job.get("extends", [])
    merged: dict = {}
    for parent in [parents] if isinstance(parents, str) else parents:
        merged.update(_gitlab_resolved(document, parent))
    for key, value in job.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            value = {**merged[key], **value}
        merged[key] = value
    return merged


def gitlab_credentials(project: Path) -> dict[str, set[str]]:
    """The workspaces of the Databricks variables the file's and a job's variables and
    scripts name, and "id-token" when the job (or ``default:``) declares ``id_tokens``."""
    document = _load(project / ".gitlab-ci.yml")
    default = document.get("default", {})
    out = {}
    for name in gitlab_jobs(project):
        job = {**default, **_gitlab_resolved(document, name)}  # a job's own keys win
        found = _workspaces(
            document.get("variables"), job.get("variables"), job.get("before_script"), job["script"]
        )
        if job.get("id_tokens"):
            found.add(ID_TOKEN)
        out[name] = found
    return out


def azure_credentials(project: Path) -> dict[str, set[str]]:
    """The workspaces of the variable groups a job sees (pipeline, stage and job level), and
    of the service connections and secret variables its steps use."""
    document = _load(project / "azure-pipelines.yml")
    out = {}
    for stage in document["stages"]:
        for job in stage["jobs"]:
            name = job.get("job") or job.get("deployment")
            steps = job.get("steps") or job["strategy"]["runOnce"]["deploy"]["steps"]
            groups = [document.get("variables"), stage.get("variables"), job.get("variables")]
            out[name] = _workspaces(*groups, steps)
    return out


CREDENTIAL_READERS = {
    "github_actions": github_credentials,
    "gitlab": gitlab_credentials,
    "azure_devops": azure_credentials,
}
