"""Reading the CI/CD files of a rendered project, whichever platform it uses.

Each reader returns ``{job name: the shell text the job runs}``.
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
