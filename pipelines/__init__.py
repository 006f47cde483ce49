"""Dagster definitions, jobs, schedules and sensors."""
