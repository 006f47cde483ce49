"""Workflows: people's own chains of tools, written in a small YAML language, checked before
they are saved, and run as Dagster jobs (`pipelines.workflows`)."""

from lifeos.workflows.dsl import Workflow, json_schema
from lifeos.workflows.validate import Catalog, Checked, Problem, check, check_text

__all__ = ["Catalog", "Checked", "Problem", "Workflow", "check", "check_text", "json_schema"]
