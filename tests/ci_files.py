"""Reading the CI/CD files of a rendered project, whichever platform it uses.

Three readers per platform: ``READERS`` give ``{job name: the shell text the job runs}``,
``STAGE_READERS`` the jobs in the order they run, grouped by stage, and
``CONDITION_READERS`` ``{job name: the text of the conditions that decide whether it runs}``.
"""

from __future__ import annotations

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


CONDITION_READERS = {
    "github_actions": github_conditions,
    "gitlab": gitlab_conditions,
    "azure_devops": azure_conditions,
}
