"""Reading a text file a person hands us (a statement, a calendar): UTF-8 unless told otherwise,
binary files and undecodable bytes refused with one clear line, never decoded into U+FFFD."""

from __future__ import annotations

from pathlib import Path


def decode_text(raw: bytes, *, name: str, encoding: str | None = None) -> str:
    """`raw` as text; ValueError naming the file, line and column of the first problem."""
    if b"\x00" in raw[:8192] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _refuse(raw, raw.index(b"\x00"), f"{name} is a binary file (it has NUL bytes), not text")
    try:
        return raw.decode(encoding or "utf-8-sig")
    except LookupError:
        raise ValueError(f"{name}: unknown encoding {encoding!r}") from None
    except UnicodeDecodeError as exc:
        hint = "" if encoding else "; pass --encoding (e.g. latin-1) if the file is in another encoding"
        return _refuse(raw, exc.start, f"{name} is not valid {encoding or 'UTF-8'}", hint)


def _refuse(raw: bytes, offset: int, what: str, hint: str = "") -> str:
    line = raw.count(b"\n", 0, offset) + 1
    column = offset - (raw.rfind(b"\n", 0, offset) + 1) + 1
    raise ValueError(f"{what}: byte 0x{raw[offset]:02X} at line {line}, column {column}{hint}")


def read_text(path: Path, *, encoding: str | None = None) -> str:
    return decode_text(path.read_bytes(), name=str(path), encoding=encoding)
