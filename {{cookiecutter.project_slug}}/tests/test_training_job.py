"""The training job hands the trained version from task to task and runs one at a time."""

from __future__ import annotations

from pathlib import Path

import yaml

JOB = Path(__file__).resolve().parents[1] / "resources" / "model-training-job.yml"
REFERENCE = "{{ '{{' }}tasks.train.values.model_version{{ '}}' }}"


def test_validate_and_deploy_get_the_version_the_train_task_set():
    job = yaml.safe_load(JOB.read_text(encoding="utf-8"))["resources"]["jobs"]["model_training_job"]
    assert job["max_concurrent_runs"] == 1
    tasks = {t["task_key"]: t["python_wheel_task"] for t in job["tasks"]}
    for key in ("validate", "deploy"):
        parameters = tasks[key]["parameters"]
        assert parameters[parameters.index("--model-version") + 1] == REFERENCE, key
    assert "--model-version" not in tasks["train"]["parameters"]
