"""Browsing users added 50 at a time until p95 passes 1 s or errors pass 1 %: the knee."""

from benchmarks.load.shapes import StressShape
from benchmarks.load.users import Browser, record

__all__ = ["Browser", "StressShape", "record"]
