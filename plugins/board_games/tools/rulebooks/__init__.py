"""Rulebooks: PDF pages with recovered structure, chunks, retrieval and cited answers."""
