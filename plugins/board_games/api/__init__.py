"""The board-game routes, served under /api/v1 while the plugin is loaded: `/games` (the
catalogue and its rulebooks) and `/rules` (ask, stream, feedback)."""
