"""The stories plugin's studio."""
