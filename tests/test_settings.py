"""Settings: the documented RAG_ names reach the right fields, and .env.example lists them all."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel, Field, ValidationError

from service.errors import InvalidSettings
from service.settings import Settings, describe_invalid, get_settings

ROOT = Path(__file__).resolve().parent.parent


def env_names(model: type[BaseModel], prefix: str = "RAG_") -> set[str]:
    names: set[str] = set()
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= env_names(annotation, f"{prefix}{name.upper()}__")
        else:
            names.add(f"{prefix}{name.upper()}")
    return names


def test_interface_names_map_to_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for key, value in {
        "RAG_DATA_DIR": "/srv/newsrag",
        "RAG_CHROMA__HOST": "chroma",
        "RAG_CHROMA__PORT": "8001",
        "RAG_COLLECTION": "articles",
        "RAG_OLLAMA__BASE_URL": "http://ollama:11434",
        "RAG_OLLAMA__MODEL": "qwen2.5:7b",
        "RAG_GENERATOR": "extractive",
    }.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    assert settings.data_dir == Path("/srv/newsrag")
    assert (settings.chroma.host, settings.chroma.port) == ("chroma", 8001)
    assert settings.collection == "articles"
    assert (settings.ollama.base_url, settings.ollama.model) == ("http://ollama:11434", "qwen2.5:7b")
    assert settings.generator == "extractive"


def test_bad_setting_is_rejected(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RAG_GENERATOR", "gpt")
    with pytest.raises(ValueError, match="generator"):
        Settings()


def test_invalid_settings_are_named_as_they_are_set(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RAG_TOP_K", "-3")
    monkeypatch.setenv("RAG_RETRIEVAL__SOURCE_MARGIN", "abc")
    get_settings.cache_clear()
    try:
        with pytest.raises(InvalidSettings) as raised:
            get_settings()
    finally:
        get_settings.cache_clear()
    message = raised.value.message
    assert message.startswith("invalid settings: ")
    assert "RAG_TOP_K: Input should be greater than or equal to 1 (got '-3')" in message
    assert "RAG_RETRIEVAL__SOURCE_MARGIN: " in message and "(got 'abc')" in message


def test_an_invalid_secret_is_named_but_not_shown() -> None:
    class Keyed(BaseModel):
        api_key: str = Field(max_length=8)

    with pytest.raises(ValidationError) as raised:
        Keyed(api_key="s3cret-value-too-long")
    message = describe_invalid(raised.value)
    assert message.startswith("invalid settings: RAG_API_KEY: String should have at most 8 characters")
    assert "s3cret" not in message


def test_env_example_lists_every_setting() -> None:
    listed = set(re.findall(r"^#?\s*(RAG_[A-Z_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert listed == env_names(Settings)


def test_every_setting_has_a_description() -> None:
    def undescribed(model: type[BaseModel]) -> list[str]:
        missing = [n for n, f in model.model_fields.items() if not f.description]
        for field in model.model_fields.values():
            if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
                missing += undescribed(field.annotation)
        return missing

    assert undescribed(Settings) == []
