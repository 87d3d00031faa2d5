"""Media by content hash: what a post attaches, and the brand's reviewed asset library."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from runbook.checks.model import MediaRef

MEDIA_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".mp4", ".mov", ".heic", ".svg"}
MAX_MEDIA_BYTES = 512 * 1024 * 1024  # larger than any platform accepts (X video: 512 MB)


def media_problem(path: Path) -> str | None:
    """Why `path` cannot be attached, or None: it must be a regular file (not /dev/zero, a FIFO
    or a folder, which would hang or fail the hashing) under MAX_MEDIA_BYTES."""
    import stat

    try:
        info = path.stat()
    except OSError as exc:
        return f"media {path}: {exc.strerror or exc}"
    if not stat.S_ISREG(info.st_mode):
        return f"media {path} is not a regular file"
    if info.st_size > MAX_MEDIA_BYTES:
        return f"media {path} is {info.st_size:,} bytes; the limit is {MAX_MEDIA_BYTES:,}"
    return None


def hash_file(path: Path) -> str:
    problem = media_problem(path)
    if problem:
        raise OSError(problem)
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def media_ref(item: str | dict[str, Any], *, base: Path | None = None) -> MediaRef:
    """A file path (hashed now) or a stored {name, sha256, path} dict."""
    if isinstance(item, dict):
        if item.get("sha256"):
            return MediaRef(
                name=str(item.get("name") or item.get("path") or item["sha256"][:12]),
                sha256=str(item["sha256"]),
                path=item.get("path"),
            )
        item = str(item.get("path") or "")
    path = Path(item)
    if base is not None and not path.is_absolute():
        path = base / path
    try:
        return MediaRef(name=path.name, sha256=hash_file(path), path=str(path))
    except OSError:
        return MediaRef(name=path.name or str(item), sha256=None, path=str(path))


def media_refs(items: Iterable[str | dict[str, Any]] | None, *, base: Path | None = None) -> tuple[MediaRef, ...]:
    return tuple(media_ref(item, base=base) for item in (items or []))


def library_hashes(folder: Path) -> set[str]:
    """Content hashes of every media file under `folder` (the reviewed asset library)."""
    if not folder.is_dir():
        raise ValueError(f"asset library {folder} is not a folder")
    return {hash_file(p) for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in MEDIA_SUFFIXES}
