"""The images plugin's studio."""
