"""{{ cookiecutter.project_name }}.

Pipeline steps that run locally and as Databricks wheel tasks.
"""

__version__ = "0.1.0"
