"""The stories plugin's tools."""
