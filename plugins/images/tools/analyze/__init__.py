"""Image analyzers: a picture → editable, linked library entities (see core.py)."""
