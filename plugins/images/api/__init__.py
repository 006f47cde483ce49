"""The images plugin's api."""
