"""Tests for service.ingestion.readers: which inputs become raw documents, which are skipped, and why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.ingestion.readers import RawDocument, Skipped, iter_documents

SEEDS = Path(__file__).parent.parent / "seeds"


def read_all(*paths: Path) -> list[RawDocument | Skipped]:
    return list(iter_documents(list(paths)))


def documents(items: list[RawDocument | Skipped]) -> list[RawDocument]:
    return [item for item in items if isinstance(item, RawDocument)]


def skips(items: list[RawDocument | Skipped]) -> list[Skipped]:
    return [item for item in items if isinstance(item, Skipped)]


def test_seed_folder_gives_five_txt_documents_with_relative_origins() -> None:
    docs = documents(read_all(SEEDS))
    assert len(docs) == 5
    assert [d.origin for d in docs] == sorted(p.name for p in SEEDS.glob("*.txt"))
    assert all(d.kind == "txt" and not d.fields for d in docs)
    assert all(Path(d.source_file).is_absolute() and Path(d.source_file).is_file() for d in docs)


def test_folder_is_walked_recursively_sorted_and_hidden_entries_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text("second", encoding="utf-8")
    (tmp_path / "a.md").write_text("# first", encoding="utf-8")
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "sub" / "deeper" / "c.htm").write_text("<p>third</p>", encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text("secret", encoding="utf-8")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "notes.txt").write_text("not an article", encoding="utf-8")

    items = read_all(tmp_path)

    assert not skips(items)
    assert [(d.origin, d.kind) for d in documents(items)] == [
        ("a.md", "md"),
        ("b.txt", "txt"),
        ("sub/deeper/c.htm", "html"),
    ]


def test_file_given_directly_has_its_name_as_origin(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "story.html"
    path.parent.mkdir()
    path.write_text("<html><body><p>Hello</p></body></html>", encoding="utf-8")

    (doc,) = documents(read_all(path))

    assert doc.origin == "story.html"
    assert doc.kind == "html"
    assert doc.text.startswith("<html>")  # HTML is handed on as source, extraction happens in cleaning
    assert doc.source_file == str(path.resolve())


def test_json_object_record_accepts_field_aliases_and_uses_its_url_as_origin(tmp_path: Path) -> None:
    record = {
        "headline": "Big Story",
        "outlet": "Example Wire",
        "byline": ["Jane Doe", "John Roe"],
        "pubDate": "Tue, 05 Feb 2020 10:00:00 GMT",
        "link": "https://example.com/big-story",
        "content": "The body of the story.",
    }
    (tmp_path / "one.json").write_text(json.dumps(record), encoding="utf-8")

    (doc,) = documents(read_all(tmp_path))

    assert doc.kind == "record"
    assert doc.origin == "https://example.com/big-story"
    assert doc.text == "The body of the story."
    assert dict(doc.fields) == {
        "title": "Big Story",
        "source": "Example Wire",
        "author": "Jane Doe, John Roe",
        "published": "Tue, 05 Feb 2020 10:00:00 GMT",
        "url": "https://example.com/big-story",
    }


def test_other_record_aliases_are_recognised(tmp_path: Path) -> None:
    records = [
        {"title": "A", "publisher": "P", "authors": "X Y", "published_at": "2024-01-02", "text": "body a"},
        {"TITLE": "B", "Site_Name": "S", "author": {"name": "Z"}, "date": "2024-01-03", "body": "body b"},
        {
            "title": "C",
            "source": {"id": "bbc", "name": "BBC"},
            "published": "2024-01-04",
            "content": "body c",
        },
    ]
    (tmp_path / "list.json").write_text(json.dumps(records), encoding="utf-8")

    docs = documents(read_all(tmp_path))

    assert [dict(d.fields) for d in docs] == [
        {"title": "A", "source": "P", "author": "X Y", "published": "2024-01-02"},
        {"title": "B", "source": "S", "author": "Z", "published": "2024-01-03"},
        {"title": "C", "source": "BBC", "published": "2024-01-04"},
    ]
    assert [d.text for d in docs] == ["body a", "body b", "body c"]


def test_json_list_skips_only_the_record_without_body(tmp_path: Path) -> None:
    records = [
        {"title": "First", "body": "first body"},
        {"title": "No body here", "url": "https://example.com/empty", "body": "  "},
        {"title": "Third", "text": "third body"},
        "not an object",
    ]
    (tmp_path / "batch.json").write_text(json.dumps(records), encoding="utf-8")

    items = read_all(tmp_path)

    assert [d.origin for d in documents(items)] == ["batch.json#1", "batch.json#3"]
    assert [(s.origin, s.reason) for s in skips(items)] == [
        ("https://example.com/empty", "record 2 has no body/text"),
        ("batch.json#4", "record 4 is not a JSON object"),
    ]


def test_json_object_wrapping_an_articles_list_is_read_as_records(tmp_path: Path) -> None:
    data = {"status": "ok", "articles": [{"title": "A", "content": "a"}, {"title": "B", "content": "b"}]}
    (tmp_path / "feed.json").write_text(json.dumps(data), encoding="utf-8")

    assert [d.text for d in documents(read_all(tmp_path))] == ["a", "b"]


def test_a_stray_item_in_a_wrapped_list_is_skipped_alone(tmp_path: Path) -> None:
    data = {"articles": [{"title": "A", "body": "a"}, 5, None, {"title": "B", "body": "b"}]}
    (tmp_path / "feed.json").write_text(json.dumps(data), encoding="utf-8")

    items = read_all(tmp_path)

    assert [d.text for d in documents(items)] == ["a", "b"]
    assert skips(items) == [
        Skipped("feed.json#2", "record 2 is not a JSON object"),
        Skipped("feed.json#3", "record 3 is not a JSON object"),
    ]


def test_jsonl_bad_line_is_skipped_and_the_other_lines_are_read(tmp_path: Path) -> None:
    lines = [
        json.dumps({"title": "One", "body": "first"}),
        "{not json",
        "",
        json.dumps({"title": "Three", "body": "third", "url": "https://example.com/3"}),
        json.dumps({"title": "Four"}),
    ]
    (tmp_path / "feed.jsonl").write_text("\n".join(lines), encoding="utf-8")

    items = read_all(tmp_path)

    assert [d.origin for d in documents(items)] == ["feed.jsonl#1", "https://example.com/3"]
    skipped = skips(items)
    assert [s.origin for s in skipped] == ["feed.jsonl#2", "feed.jsonl#5"]
    assert skipped[0].reason.startswith("line 2: invalid JSON")
    assert skipped[1].reason == "line 5 has no body/text"


def test_invalid_json_file_is_skipped_with_the_parser_message(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text('{"title": "x", ', encoding="utf-8")
    (tmp_path / "scalar.json").write_text("42", encoding="utf-8")

    items = read_all(tmp_path)

    assert not documents(items)
    reasons = {s.origin: s.reason for s in skips(items)}
    assert reasons["broken.json"].startswith("invalid JSON: ")
    assert reasons["scalar.json"] == "JSON is neither an object nor a list of objects"


def test_unsupported_file_type_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "paper.pdf").write_bytes(b"%PDF-1.4 ...")
    (tmp_path / "README").write_text("no extension", encoding="utf-8")

    assert [(s.origin, s.reason) for s in skips(read_all(tmp_path))] == [
        ("README", "unsupported file type (no extension)"),
        ("paper.pdf", "unsupported file type .pdf"),
    ]


def test_empty_and_whitespace_only_files_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.md").write_text(" \n\t\n", encoding="utf-8")

    assert [(s.origin, s.reason) for s in skips(read_all(tmp_path))] == [
        ("blank.md", "empty file"),
        ("empty.txt", "empty file"),
    ]


def test_binary_file_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")

    (skipped,) = read_all(tmp_path)

    assert isinstance(skipped, Skipped)
    assert skipped.reason == "binary file (not UTF-8 text)"


def test_non_utf8_text_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "latin1.txt").write_bytes("Caf\u00e9 na\u00efve".encode("latin-1"))

    (skipped,) = read_all(tmp_path)

    assert skipped == Skipped("latin1.txt", "not valid UTF-8 text")


def test_utf8_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    (tmp_path / "bom.txt").write_bytes("\ufeffHello".encode())

    (doc,) = documents(read_all(tmp_path))

    assert doc.text == "Hello"


def test_missing_path_is_skipped_not_raised(tmp_path: Path) -> None:
    missing = tmp_path / "nope"

    assert read_all(missing) == [Skipped(str(missing), "path does not exist")]


def test_unreadable_file_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "locked.txt").write_text("text", encoding="utf-8")

    def deny(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    # Tests may run as root, where chmod 000 would not stop the read.
    monkeypatch.setattr(Path, "read_bytes", deny)

    assert read_all(tmp_path) == [Skipped("locked.txt", "unreadable file: Permission denied")]


def test_a_broken_link_in_a_folder_is_reported(tmp_path: Path) -> None:
    (tmp_path / "gone.txt").symlink_to(tmp_path / "deleted.txt")

    assert read_all(tmp_path) == [Skipped("gone.txt", "unreadable file: No such file or directory")]


def test_one_bad_file_does_not_stop_the_run(tmp_path: Path) -> None:
    (tmp_path / "a.bin").write_bytes(b"\x00\x01")
    (tmp_path / "b.json").write_text("[", encoding="utf-8")
    (tmp_path / "c.txt").write_bytes(b"\x00binary")
    (tmp_path / "d.txt").write_text("A good article.", encoding="utf-8")

    items = read_all(tmp_path, tmp_path / "missing.txt", SEEDS / "000_277ab06f7a8d113b.txt")

    assert [d.origin for d in documents(items)] == ["d.txt", "000_277ab06f7a8d113b.txt"]
    assert len(skips(items)) == 4
