"""The images plugin's tools."""
