"""Backups: complete, encrypted, content-addressed sets of a home, restored and verified.

`lifeos.backup.sets` takes, lists, restores, verifies and prunes them; `lifeos.backup.vault`
is where they are kept (a folder or any fsspec URL) and how they are encrypted (age)."""

from lifeos.backup.sets import (
    Manifest,
    PruneReport,
    SetInfo,
    VerifyReport,
    list_sets,
    load_manifest,
    prune,
    restore,
    run_backup,
    verify,
)
from lifeos.backup.vault import new_key_file

__all__ = [
    "Manifest",
    "PruneReport",
    "SetInfo",
    "VerifyReport",
    "list_sets",
    "load_manifest",
    "new_key_file",
    "prune",
    "restore",
    "run_backup",
    "verify",
]
