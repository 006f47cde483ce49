"""Where backup sets are kept: a folder or any fsspec URL (`s3://bucket/prefix` with s3fs; an
S3-compatible server through `AWS_ENDPOINT_URL`, credentials as boto3 finds them), holding
content-addressed objects (each file stored once, whichever sets share it) and the sets
that name them.

    objects/ab/<name>          one file's bytes (age-encrypted when a key is configured)
    sets/<id>/started.json     written first: a set without a manifest was interrupted
    sets/<id>/manifest.age     what the set holds (encrypted; `manifest.json` when plain)
    sets/<id>/summary.json     its size, kind and age, readable without the key
    sets/<id>/objects.txt      the objects it names, so pruning needs no key
    sets/<id>/verified.json    the last restore drill that passed
    keys/<key id>.age          the backup identity, encrypted with the passphrase

Encryption is age (pyrage) to an X25519 identity. The identity is either a key file the
person keeps (`LIFEOS_BACKUP_KEY_FILE`), or made on the first backup and kept in the vault
encrypted with `LIFEOS_BACKUP_PASSPHRASE`, so the passphrase alone restores a lost disk.
Object names are then an HMAC of the content hash under the identity, so the vault does not
reveal which known files it holds.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from pathlib import Path
from typing import Any

import fsspec

from lifeos.errors import BackupError

_identities: dict[tuple[str, str], Any] = {}  # (vault, key id) -> identity: scrypt once
_lock = threading.Lock()


class Sealer:
    """Encrypts objects to one age identity, or passes them through (no key configured)."""

    def __init__(self, identity: Any = None) -> None:
        self.identity = identity
        if identity is None:
            self.key_id, self._mac = None, b""
            return
        recipient = str(identity.to_public())
        self.key_id = hashlib.sha256(recipient.encode()).hexdigest()[:16]
        self._mac = hashlib.sha256(b"lifeos-backup-names\0" + str(identity).encode()).digest()

    @property
    def encrypted(self) -> bool:
        return self.identity is not None

    def name(self, sha256: str) -> str:
        if not self.encrypted:
            return sha256
        return hmac.new(self._mac, sha256.encode(), hashlib.sha256).hexdigest()

    def seal(self, data: bytes) -> bytes:
        if not self.encrypted:
            return data
        import pyrage

        return bytes(pyrage.encrypt(data, [self.identity.to_public()]))

    def open(self, data: bytes, what: str) -> bytes:
        if not self.encrypted:
            return data
        import pyrage

        try:
            return bytes(pyrage.decrypt(data, [self.identity]))
        except pyrage.DecryptError as exc:
            raise BackupError(f"{what} cannot be decrypted with this key ({exc})") from None


class Vault:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        local = "://" not in self.url or self.url.startswith("file://")
        # An object store lists afresh each time: another process (the daemon's backup
        # run, a prune elsewhere) may have changed it since this process last looked.
        options = {} if local else {"use_listings_cache": False}
        self.fs, self.root = fsspec.core.url_to_fs(self.url, **options)
        self.root = self.root.rstrip("/")

    def path(self, *parts: str) -> str:
        """A path inside the vault."""
        return "/".join([self.root, *parts])

    # ---- objects ---------------------------------------------------------------------------

    def object_path(self, name: str) -> str:
        return self.path("objects", name[:2], name)

    def has_object(self, name: str) -> bool:
        return bool(self.fs.exists(self.object_path(name)))

    def put_object(self, name: str, data: bytes) -> None:
        self.write(self.object_path(name), data)

    def get_object(self, name: str) -> bytes:
        try:
            return bytes(self.fs.cat_file(self.object_path(name)))
        except FileNotFoundError:
            raise BackupError(f"object {name[:12]}… is missing from {self.url}") from None

    def object_names(self) -> set[str]:
        found = self.fs.find(self.path("objects"))
        return {p.rsplit("/", 1)[-1] for p in found if ".tmp-" not in p}

    def remove_objects(self, names: set[str]) -> None:
        for name in names:
            self.fs.rm_file(self.object_path(name))

    # ---- sets ------------------------------------------------------------------------------

    def set_ids(self) -> list[str]:
        base = self.path("sets")
        if not self.fs.exists(base):
            return []
        return sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in self.fs.ls(base, detail=False))

    def read(self, set_id: str, name: str) -> bytes | None:
        try:
            return bytes(self.fs.cat_file(self.path("sets", set_id, name)))
        except FileNotFoundError:
            return None

    def read_json(self, set_id: str, name: str) -> dict[str, Any] | None:
        raw = self.read(set_id, name)
        if raw is None:
            return None
        try:
            value = json.loads(raw)
        except ValueError:
            raise BackupError(f"{set_id}/{name} is damaged (not JSON)") from None
        if not isinstance(value, dict):
            raise BackupError(f"{set_id}/{name} is damaged (not an object)")
        return value

    def write_set_file(self, set_id: str, name: str, data: bytes) -> None:
        self.write(self.path("sets", set_id, name), data)

    def remove_set(self, set_id: str) -> None:
        self.fs.rm(self.path("sets", set_id), recursive=True)

    def write(self, path: str, data: bytes) -> None:
        """Write under a temporary name, then rename: a backup killed mid-write leaves a
        `.tmp-` file that nothing reads, never half an object under its real name."""
        parent = path.rsplit("/", 1)[0]
        self.fs.makedirs(parent, exist_ok=True)
        tmp = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
        self.fs.pipe_file(tmp, data)
        self.fs.mv(tmp, path)

    # ---- keys ------------------------------------------------------------------------------

    def sealer(
        self, *, passphrase: str | None, key_file: Path | None, create: bool, key_id: str | None
    ) -> Sealer:
        """The identity objects are encrypted to: from the key file, or kept in the vault
        under the passphrase (`create`: made on a vault's first backup)."""
        from pyrage import x25519

        if key_file is not None:
            try:
                text = Path(key_file).read_text(encoding="utf-8")
                line = next(x for x in text.splitlines() if x.startswith("AGE-SECRET-KEY-"))
                return Sealer(x25519.Identity.from_str(line.strip()))
            except (OSError, StopIteration, ValueError) as exc:
                raise BackupError(f"{key_file}: not an age identity file ({exc})") from None
        if not passphrase:
            return Sealer(None)
        return Sealer(self._kept_identity(passphrase, create=create, key_id=key_id))

    def _kept_identity(self, passphrase: str, *, create: bool, key_id: str | None) -> Any:
        from pyrage import DecryptError, x25519
        from pyrage import passphrase as age_passphrase

        keys = self.path("keys")
        names = (
            sorted(p.rsplit("/", 1)[-1][: -len(".age")] for p in self.fs.ls(keys, detail=False))
            if self.fs.exists(keys)
            else []
        )
        wanted = key_id or (names[-1] if names else None)
        with _lock:
            cached = _identities.get((self.url, wanted or ""))
        if cached is not None and wanted is not None:
            return cached
        if wanted is None or wanted not in names:
            if key_id is not None:
                raise BackupError(f"this backup was made with key {key_id}, which {self.url} lacks")
            if not create:
                raise BackupError(f"{self.url} holds no backup key yet: run a backup first")
            identity = x25519.Identity.generate()
            wanted = Sealer(identity).key_id
            sealed = age_passphrase.encrypt(str(identity).encode(), passphrase)
            self.write(self.path("keys", f"{wanted}.age"), bytes(sealed))
        else:
            sealed = self.fs.cat_file(self.path("keys", f"{wanted}.age"))
            try:
                identity = x25519.Identity.from_str(
                    bytes(age_passphrase.decrypt(sealed, passphrase)).decode()
                )
            except DecryptError:
                raise BackupError(
                    f"the passphrase does not open backup key {wanted} in {self.url}"
                ) from None
        with _lock:
            _identities[(self.url, str(wanted))] = identity
        return identity


def new_key_file(path: Path) -> str:
    """Write a new age identity to `path` (readable by its owner only); returns its public
    recipient. Keep the file off the machine it protects."""
    from pyrage import x25519

    identity = x25519.Identity.generate()
    path = Path(path)
    if path.exists():
        raise BackupError(f"{path} exists: not overwriting a key")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    recipient = str(identity.to_public())
    path.write_text(f"# public key: {recipient}\n{identity}\n", encoding="utf-8")
    return recipient
