"""100 people browsing a 10,000-entity library (`-u 100`): lists, searches, details, edits,
about a second of thought between actions."""

from benchmarks.load.users import Browser, record

__all__ = ["Browser", "record"]
