"""The stories plugin's api."""
