"""Dagster resources wrapping the real systems the product talks to."""
