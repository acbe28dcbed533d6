"""POST /documents and DELETE /articles/{id} over a real socket, on a writable index."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.embeddings import Embedder
from service.store import build_store
from tests.conftest import SEEDS, LiveServer, extractive_app, make_settings

ARTICLE = (
    "Harbour reopens after storm\n\nCoastal Times\n\n"
    "The harbour of Port Ellis reopened on Saturday after a week of storms closed it to all shipping. "
    "Harbour master Ana Ruiz said 14 vessels were waiting to unload grain and timber."
)


@pytest.fixture()
def server(tmp_path: Path, embedder: Embedder) -> Iterator[httpx.Client]:
    settings = make_settings(tmp_path / "data", max_upload_files=3, max_file_bytes=20_000)
    store = build_store(settings)
    app = extractive_app(settings, store, embedder)
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=120) as client:
        yield client


def upload(client: httpx.Client, *files: tuple[str, bytes]) -> httpx.Response:
    return client.post("/documents", files=[("files", (name, data, "text/plain")) for name, data in files])


def test_uploaded_file_is_searchable_when_the_call_returns(server: httpx.Client) -> None:
    response = upload(server, ("harbour.txt", ARTICLE.encode()))
    assert response.status_code == 200, response.text
    (article,) = response.json()["articles"]
    assert article["status"] == "new" and article["origin"] == "upload/harbour.txt"
    assert response.json()["chunks_written"] >= 1
    hits = server.post("/search", json={"query": "Port Ellis harbour reopened after storms"}).json()[
        "results"
    ]
    assert hits[0]["article"]["id"] == article["id"]


def test_an_upload_is_searchable_at_once_even_right_after_a_search(server: httpx.Client) -> None:
    query = {"query": "Port Ellis harbour reopened after storms"}
    before = server.post("/search", json=query).json()["results"]  # the index is read just now
    assert before == []
    (article,) = upload(server, ("harbour.txt", ARTICLE.encode())).json()["articles"]
    assert server.post("/search", json=query).json()["results"][0]["article"]["id"] == article["id"]
    assert server.delete(f"/articles/{article['id']}").status_code == 200
    assert server.post("/search", json=query).json()["results"] == []


def test_reupload_is_unchanged_and_an_edit_replaces_the_article(server: httpx.Client) -> None:
    first = upload(server, ("harbour.txt", ARTICLE.encode())).json()["articles"][0]
    again = upload(server, ("harbour.txt", ARTICLE.encode())).json()
    assert again["articles"][0]["status"] == "unchanged" and again["chunks_written"] == 0
    edited = upload(server, ("harbour.txt", (ARTICLE + " Grain prices fell 3 percent.").encode())).json()
    assert edited["articles"][0] == {**first, "status": "changed"}
    assert len(server.get("/articles").json()["articles"]) == 1


def test_several_files_and_json_records(server: httpx.Client) -> None:
    seeds = sorted(SEEDS.iterdir())[:2]
    response = upload(server, *[(p.name, p.read_bytes()) for p in seeds])
    assert response.status_code == 200 and len(response.json()["articles"]) == 2
    record = {
        "title": "Rail strike ends",
        "source": "Metro Daily",
        "published_at": "2024-05-02",
        "url": "https://example.org/rail",
        "body": "Train drivers ended a three-day strike on Thursday after a pay deal was agreed.",
    }
    one = server.post("/documents", json=record)
    assert one.status_code == 200, one.text
    (article,) = one.json()["articles"]
    assert (article["source"], article["published"], article["origin"]) == (
        "Metro Daily",
        "2024-05-02",
        "https://example.org/rail",
    )
    listed = server.post("/documents", json=[record, {**record, "url": "https://example.org/rail-2"}])
    assert [a["status"] for a in listed.json()["articles"]] == ["unchanged", "new"]


def test_records_without_url_are_told_apart_by_their_text_whatever_its_field(server: httpx.Client) -> None:
    first = {"title": "Council notes", "content": "The council approved the harbour budget on Monday."}
    second = {"title": "Council notes", "Text": "The council rejected the rail budget on Tuesday morning."}
    both = server.post("/documents", json=[first, second])
    assert both.status_code == 200, both.text
    assert [a["status"] for a in both.json()["articles"]] == ["new", "new"]
    assert both.json()["skipped"] == []
    again = server.post("/documents", json=first).json()["articles"]
    assert [a["status"] for a in again] == ["unchanged"]
    assert server.get("/articles").json()["total"] == 2


def test_delete_removes_the_article_from_search_and_listing(server: httpx.Client) -> None:
    article = upload(server, ("harbour.txt", ARTICLE.encode())).json()["articles"][0]
    deleted = server.delete(f"/articles/{article['id']}")
    assert deleted.status_code == 200 and deleted.json()["chunks_deleted"] >= 1
    assert server.get(f"/articles/{article['id']}").status_code == 404
    assert server.post("/search", json={"query": "Port Ellis harbour"}).json()["results"] == []
    again = server.delete(f"/articles/{article['id']}")
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("name", "data", "status"),
    [
        ("../escape.txt", b"An article about harbours and ships.", 422),
        ("nested/dir.txt", b"An article about harbours and ships.", 422),
        (".hidden.txt", b"An article about harbours and ships.", 422),
        ("tool.exe", b"MZ\x90\x00binary", 415),
        ("garbage.txt", b"\x00\x01\x02\xff\xfe" * 50, 422),
        ("latin1.txt", "café crème".encode("latin-1"), 422),
        ("empty.md", b"   \n", 422),
        ("big.txt", b"word " * 5000, 413),
    ],
)
def test_bad_uploads_are_rejected_with_a_clear_4xx(
    server: httpx.Client, name: str, data: bytes, status: int
) -> None:
    response = upload(server, ("fine.txt", ARTICLE.encode()), (name, data))
    assert response.status_code == status, response.text
    assert response.json()["error"]["message"]
    assert server.get("/articles").json()["articles"] == []  # all or nothing


def test_request_level_limits_and_types(server: httpx.Client) -> None:
    four = [(f"a{i}.txt", ARTICLE.encode()) for i in range(4)]
    assert upload(server, *four).status_code == 413
    assert (
        server.post("/documents", content=b"title=x", headers={"content-type": "text/plain"}).status_code
        == 415
    )
    assert server.post("/documents", json={"title": "no body"}).status_code == 422
    assert server.post("/documents", json={"body": 5}).status_code == 422
    for alias in ({"text": 5}, {"content": ["a", "b"]}, {"headline": {"x": 1}, "body": ARTICLE}):
        response = server.post("/documents", json=alias)
        assert response.status_code == 422, alias
        assert response.json()["error"]["message"].endswith("must be a string")
    named = server.post("/documents", json={"authors": ["Jane Doe", "John Roe"], "text": ARTICLE})
    assert named.status_code == 200 and named.json()["articles"][0]["author"] == "Jane Doe, John Roe"
    assert server.post("/documents", json=[]).status_code == 422
    assert server.post("/documents", files={"other": ("a.txt", b"x")}).status_code == 422
