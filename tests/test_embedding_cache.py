"""The sentence-embedding cache: the real MiniLM behind it, counting what it is asked to encode."""

from __future__ import annotations

import numpy as np

from service.embedding_cache import EmbeddingCache
from tests.conftest import CountingEmbedder

TEXTS = ["Qaani visited Baghdad.", "The truce held.", "Markets rallied on Friday."]


def test_cached_vectors_equal_the_encoders(counting_embedder: CountingEmbedder) -> None:
    cache = EmbeddingCache(counting_embedder)
    np.testing.assert_allclose(cache.embed(TEXTS), counting_embedder.inner.embed(TEXTS), atol=1e-5)


def test_a_text_seen_before_is_not_encoded_again(counting_embedder: CountingEmbedder) -> None:
    cache = EmbeddingCache(counting_embedder)
    first = cache.embed(TEXTS[:2])
    again = cache.embed([TEXTS[1], TEXTS[2], TEXTS[0], TEXTS[2]])
    assert counting_embedder.texts_embedded == 3 and cache.encoded == 3
    np.testing.assert_array_equal(again[0], first[1])
    np.testing.assert_array_equal(again[1], again[3])


def test_the_least_recently_used_text_is_evicted(counting_embedder: CountingEmbedder) -> None:
    cache = EmbeddingCache(counting_embedder, size=2)
    cache.embed(TEXTS[:2])
    cache.embed([TEXTS[0]])  # now TEXTS[1] is the least recently used
    cache.embed([TEXTS[2]])
    assert len(cache) == 2
    cache.embed([TEXTS[0]])
    assert counting_embedder.texts_embedded == 3
    cache.embed([TEXTS[1]])
    assert counting_embedder.texts_embedded == 4


def test_no_texts_gives_an_empty_matrix(counting_embedder: CountingEmbedder) -> None:
    assert EmbeddingCache(counting_embedder).embed([]).shape[0] == 0
