"""A spike: 10 browsing users, 200 within 10 s, held, back to 10."""

from benchmarks.load.shapes import SpikeShape
from benchmarks.load.users import Browser, record

__all__ = ["Browser", "SpikeShape", "record"]
