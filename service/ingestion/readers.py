"""Turn files and folders into raw documents (txt, md, html, json/jsonl records), skipping what can't be read.

Nothing here raises for a per-file problem: an unreadable or unsupported input becomes a `Skipped`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Kind = Literal["txt", "md", "html", "record"]

_KINDS: dict[str, Kind] = {".txt": "txt", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html"}
_RECORD_SUFFIXES = (".json", ".jsonl")
SUPPORTED_SUFFIXES = frozenset(_KINDS) | frozenset(_RECORD_SUFFIXES)

# Canonical record field -> accepted keys (compared case-insensitively), first non-empty one wins.
_ALIASES: dict[str, tuple[str, ...]] = {
    "title": ("title", "headline"),
    "source": ("source", "outlet", "publisher", "site_name"),
    "author": ("author", "authors", "byline"),
    "published": ("published_at", "published", "date", "pubdate"),
    "url": ("url", "link"),
}
BODY_KEYS = ("body", "text", "content")
# Every key a record's fields are read from (lower case).
RECORD_KEYS = frozenset(k for keys in (*_ALIASES.values(), BODY_KEYS) for k in keys)
# A JSON object without a body that wraps its records under one of these keys is read as that list.
_WRAPPER_KEYS = ("articles", "items", "records", "data", "results")


@dataclass(frozen=True)
class RawDocument:
    """One document as read from disk, before cleaning."""

    text: str  # raw body text (for HTML: the HTML source)
    origin: str  # relative posix path, or for a record its url, else f"{relpath}#{n}" (n counts from 1)
    source_file: str  # absolute path of the file it came from
    kind: Kind
    fields: Mapping[str, str] = field(default_factory=dict)  # explicit metadata (records only)


@dataclass(frozen=True)
class Skipped:
    """An input that was not ingested, with a human-readable reason.

    ``source_file`` is set when part of a file that was otherwise read could not be parsed (a JSONL
    line, a list item): that file's other articles are read, but it does not count as read whole.
    """

    origin: str
    reason: str
    source_file: str = field(default="", compare=False)


def iter_documents(paths: Sequence[Path]) -> Iterator[RawDocument | Skipped]:
    """Yield a document or a skip for every file under the given files and folders, in a stable order."""
    for path in paths:
        if path.is_dir():
            for file in _walk(path):
                yield from _read_file(file, file.relative_to(path).as_posix())
        elif path.is_file():
            yield from _read_file(path, path.name)
        else:
            yield Skipped(str(path), "path does not exist" if not path.exists() else "not a regular file")


def _walk(folder: Path, seen: frozenset[Path] = frozenset()) -> Iterator[Path]:
    """Files under `folder`, recursively, sorted by name, hidden files and folders left out."""
    here = folder.resolve()
    if here in seen:  # a symlink pointing back up would otherwise recurse forever
        return
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.name)
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            yield from _walk(entry, seen | {here})
        elif entry.is_file() or (entry.is_symlink() and not entry.exists()):
            yield entry  # a broken link is reported as unreadable, not passed over


def _read_file(path: Path, origin: str) -> Iterator[RawDocument | Skipped]:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        yield Skipped(origin, f"unsupported file type {suffix or '(no extension)'}")
        return
    try:
        data = path.read_bytes()
    except OSError as exc:
        yield Skipped(origin, f"unreadable file: {exc.strerror or exc}")
        return
    yield from read_bytes(data, suffix, origin, str(path.resolve()))


def read_bytes(
    data: bytes, suffix: str, origin: str, source_file: str = ""
) -> Iterator[RawDocument | Skipped]:
    """Documents in the bytes of one file of the given type (e.g. an upload), or why there are none."""
    suffix = suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        yield Skipped(origin, f"unsupported file type {suffix or '(no extension)'}")
        return
    text = _decode(data)
    if isinstance(text, Skipped):
        yield Skipped(origin, text.reason)
        return
    if suffix in _KINDS:
        yield RawDocument(text=text, origin=origin, source_file=source_file, kind=_KINDS[suffix])
    elif suffix == ".json":
        yield from _read_json(text, origin, source_file)
    else:
        yield from _read_jsonl(text, origin, source_file)


def read_record(item: Mapping[str, Any], origin: str) -> RawDocument | Skipped:
    """One article given as a mapping of fields (title, source, author, published_at, url, body)."""
    return _record(item, origin, "", 1, "record")


def _decode(data: bytes) -> str | Skipped:
    """The bytes as text, or a Skipped (with an empty origin, filled in by the caller)."""
    if not data.strip():
        return Skipped("", "empty file")
    if b"\x00" in data:
        return Skipped("", "binary file (not UTF-8 text)")
    try:
        text = data.decode("utf-8-sig")  # also plain UTF-8; drops a leading byte-order mark
    except UnicodeDecodeError:
        return Skipped("", "not valid UTF-8 text")
    return text if text.strip() else Skipped("", "empty file")


def _read_json(text: str, origin: str, source_file: str) -> Iterator[RawDocument | Skipped]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        yield Skipped(origin, f"invalid JSON: {exc}")
        return
    if isinstance(data, dict):
        wrapped = _wrapped_records(data)
        data = wrapped if wrapped is not None else [data]
    if not isinstance(data, list):
        yield Skipped(origin, "JSON is neither an object nor a list of objects")
        return
    if not data:
        yield Skipped(origin, "empty file")
    for n, item in enumerate(data, start=1):
        yield _record(item, origin, source_file, n, f"record {n}")


def _read_jsonl(text: str, origin: str, source_file: str) -> Iterator[RawDocument | Skipped]:
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Skipped(f"{origin}#{n}", f"line {n}: invalid JSON: {exc}", source_file)
            continue
        yield _record(item, origin, source_file, n, f"line {n}")


def _wrapped_records(data: dict[str, Any]) -> list[Any] | None:
    if any(_lookup(data, (key,)) for key in BODY_KEYS):
        return None
    for key in _WRAPPER_KEYS:
        value = data.get(key)
        # One stray item (null, a number) must not hide the others: it is skipped on its own.
        if isinstance(value, list) and any(isinstance(v, dict) for v in value):
            return value
    return None


def _record(item: Any, origin: str, source_file: str, n: int, label: str) -> RawDocument | Skipped:
    if not isinstance(item, dict):
        return Skipped(f"{origin}#{n}", f"{label} is not a JSON object", source_file)
    fields = {name: value for name, keys in _ALIASES.items() if (value := _lookup(item, keys))}
    body = _lookup(item, BODY_KEYS)
    record_origin = fields.get("url") or f"{origin}#{n}"
    if not body.strip():
        return Skipped(record_origin, f"{label} has no body/text")
    return RawDocument(text=body, origin=record_origin, source_file=source_file, kind="record", fields=fields)


def _lookup(item: Mapping[str, Any], keys: tuple[str, ...]) -> str:
    """The first non-empty value among `keys` (case-insensitive), flattened to a string."""
    lowered = {str(k).lower(): v for k, v in item.items()}
    for key in keys:
        value = _as_text(lowered.get(key))
        if value:
            return value
    return ""


def _as_text(value: Any) -> str:
    """Flatten a JSON value: lists are joined with ", ", objects give their "name" (e.g. {"name": "BBC"})."""
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, list):
        return ", ".join(text for v in value if (text := _as_text(v)))
    if isinstance(value, dict):
        return _as_text(value.get("name"))
    return str(value).strip()
