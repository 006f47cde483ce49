"""Files kept by content hash under LIFEOS_HOME/blobs (pictures, uploads)."""

from __future__ import annotations

import hashlib
import uuid

from lifeos.settings import Settings


def write_blob(settings: Settings, data: bytes, suffix: str) -> str:
    """Store `data` once by its sha256 (written to a temporary name, then renamed, so a
    failed write never leaves half a file under the real name). Returns the hash."""
    sha = hashlib.sha256(data).hexdigest()
    target = settings.blob_path(sha, suffix)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{uuid.uuid4().hex}.tmp")
        try:
            tmp.write_bytes(data)
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)
    return sha
