"""Dagster assets: thin wrappers that call tools and services and record metadata."""
