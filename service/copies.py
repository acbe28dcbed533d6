"""Wire copy: passages of other articles that carry the same text, shown once in search results and
listed with the citation of an answer.

News outlets republish agency stories (AP, Reuters, AFP) near-verbatim, and a site repeats its own
template paragraphs across articles. Listed separately, the copies of one passage fill a result
list with the same text. A later passage is a copy of an earlier result when most of its word
8-grams occur in the result (containment, as in near-duplicate detection by shingling), so it adds
little the reader has not seen: a line or a word edited in by one outlet does not split them, a
passage holding the result and much more besides stays a result of its own, and two reports of the
same event in the outlets' own words share few 8-grams and stay separate results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from service.models import Passage

SHINGLE_WORDS = 8
COPY_SHARE = 0.8  # share of a copy's shingles the result must hold


@dataclass
class CopyGroup:
    """One result and the passages of other articles that carry the same text."""

    passage: Passage
    copies: list[Passage] = field(default_factory=list)

    def holds(self, passage: Passage) -> bool:
        """Whether the passage's article is already in the group (an article is never its own copy)."""
        article = passage.chunk.article.id
        return article == self.passage.chunk.article.id or any(
            c.chunk.article.id == article for c in self.copies
        )


Shingles = frozenset[tuple[str, ...]]


def shingles(text: str) -> Shingles:
    """The lower-cased word 8-grams of a text (none when it is shorter than eight words).

    Words are split at whitespace, punctuation attached: copies keep it, and splitting is twice as
    fast as a word pattern (this runs on every /search and /ask).
    """
    words = text.lower().split()
    return frozenset(zip(*(words[i:] for i in range(SHINGLE_WORDS)), strict=False))


def is_copy(copy: Shingles, of: Shingles) -> bool:
    """Whether a passage (by its shingles) carries little besides the text of another."""
    wanted = COPY_SHARE * len(copy)
    return bool(copy) and len(of) >= wanted and len(copy & of) >= wanted


def copies_of_each(passages: Sequence[Passage], candidates: Sequence[Passage]) -> list[list[Passage]]:
    """For each passage, the candidates of other articles that copy it (the first of each article,
    in the candidates' order); each candidate's shingles are computed once."""
    if not passages:
        return []
    candidate_shingles = [(c, shingles(c.chunk.text)) for c in candidates]
    groups = [CopyGroup(p) for p in passages]
    for group in groups:
        own = shingles(group.passage.chunk.text)
        for candidate, theirs in candidate_shingles:
            if not group.holds(candidate) and is_copy(theirs, own):
                group.copies.append(candidate)
    return [g.copies for g in groups]


def fold_copies(passages: Sequence[Passage], limit: int) -> list[CopyGroup]:
    """Up to ``limit`` results in the given order, each with the later passages that copy it.

    A passage is folded into the first earlier result of another article it copies; passages of the
    same article are never folded together.
    """
    groups: list[CopyGroup] = []
    kept: list[Shingles] = []
    for passage in passages:
        own = shingles(passage.chunk.text)
        home = next(
            (g for g, s in zip(groups, kept, strict=True) if not g.holds(passage) and is_copy(own, s)), None
        )
        if home is not None:
            home.copies.append(passage)
        elif len(groups) < limit:
            groups.append(CopyGroup(passage))
            kept.append(own)
    return groups
