"""Name feedback: for a question that asks for a name, the name the leading articles share.

"Which company, reported by TechCrunch for its annual hardware event, was also sued by news
publishers?" describes its answer without naming it, so an article that states one of the facts
in other words, or with few of the question's words, ranks low. The articles leading a first
ranking are mostly about the answer, and the names they share say who it is: pseudo-relevance
feedback (as RM3 does with terms), kept to capitalised words. A name is fed back when at least two
of the first ``articles`` articles hold it and neither the question nor an outlet's name does;
names rank by how many of those articles hold them times their BM25 idf, and the first ``terms``
are the feedback. The retriever scores the passages it already ranks by BM25 of those names and
fuses that with the other lists (``RetrievalSettings.feedback_weight``).

Only questions asking for a name get it (who, which, what …). A question to be answered yes or no
already names what it asks about: measured on MultiHop-RAG, feeding names back to those made
their retrieval worse, and to the others better (see README, "Retrieval").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Collection, Sequence

from service.lexical import capitalised_words, tokenize
from service.models import Chunk

_ASKS_FOR_NAME = re.compile(r"^\W*(?:which|who|whom|whose|what)\b", re.IGNORECASE)
# The leading articles are read from this many passages at the head of the first ranking.
FEEDBACK_PASSAGES = 20
# A name is fed back only when this many of the leading articles hold it (fewer when fewer are read).
_SHARED_BY = 2


def asks_for_name(question: str) -> bool:
    """Whether the question starts with who, whom, whose, which or what: it asks for a name."""
    return _ASKS_FOR_NAME.match(question) is not None


def feedback_names(
    question: str,
    ranked: Sequence[Chunk],
    idf: Callable[[str], float],
    excluded: Collection[str],
    articles: int,
    terms: int,
) -> list[str]:
    """The names (as first written) that the first ``articles`` articles of ``ranked`` share, best first.

    ``excluded``: terms never fed back (the outlets' names). A capitalised word's term is its BM25
    token, so "Google's" and "Google" are one name; the question's own terms are left out.
    """
    if articles <= 0 or terms <= 0:
        return []
    texts: dict[str, list[str]] = {}
    for chunk in ranked:
        if chunk.article.id in texts or len(texts) < articles:
            texts.setdefault(chunk.article.id, []).append(chunk.text)
    asked = set(tokenize(question))
    held: Counter[str] = Counter()
    written: dict[str, str] = {}
    for passages in texts.values():
        names: set[str] = set()
        for word in (w for text in passages for w in capitalised_words(text)):
            tokens = tokenize(word)
            if len(tokens) != 1 or len(tokens[0]) < 3 or tokens[0] in asked or tokens[0] in excluded:
                continue
            names.add(tokens[0])
            written.setdefault(tokens[0], word)
        held.update(names)
    shared = min(_SHARED_BY, len(texts))
    ranked_names = sorted(
        (name for name, count in held.items() if count >= shared), key=lambda n: (-held[n] * idf(n), n)
    )
    return [written[name] for name in ranked_names[:terms]]
