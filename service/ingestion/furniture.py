"""Site furniture inside article paragraphs: sign-up forms, affiliate notes, template placeholders.

Scraped news bodies carry a newsletter form, an affiliate disclosure or an unrendered template
(``{{ #verifyErrors }}``) run into the article's own paragraphs, often longer than a line-level
boilerplate rule may safely drop. They are removed sentence by sentence (Punkt spans), so an
article sentence sharing the paragraph survives ("The game was reviewed using a code provided by
Nintendo." before "Vox Media may earn commissions …"). The patterns describe the form of the notice
(the site's own "our privacy notice", "may earn a commission"), not any one outlet's wording.
"""

from __future__ import annotations

import re

from service.sentences import sentence_spans

_FURNITURE = re.compile(
    r"\{\{\s*[#^/]?\s*\w+\s*\}\}"  # an unrendered mustache template
    r"|please enter a valid e-?mail|by (submitting|entering|providing) your e-?mail"
    r"|\bsign(ing)? (me )?up\b.{0,200}\b(newsletter|inbox)\b"
    r"|\b(newsletter|inbox)\b.{0,200}\bsign(ing)? (me )?up\b"
    r"|\bi (agree|would like) to (receive|be e-?mailed)\b|\bby (pressing|clicking|tapping) \W?sign up\b"
    r"|\b(skip past|after) newsletter promotion\b|\bthanks for signing up\b"
    r"|\b(read|see) our (privacy|cookie) (notice|policy)|\bagree(ing)? to our (terms|privacy)"
    r"|\brecaptcha\b"
    r"|\bmay (earn|receive) (a |an )?(small )?(affiliate )?(commission|share of (the )?(sales|revenue))"
    r"|\bhas affiliate partnerships\b"
    r"|\bwas this helpful\?|\bthank you for your feedback\b",
    re.IGNORECASE,
)

# A paragraph this much furniture (by characters) is a form or notice as a whole.
_MOSTLY = 0.6


def is_furniture(sentence: str) -> bool:
    """Whether one sentence is a form, a disclosure or a template rather than reporting."""
    return _FURNITURE.search(sentence) is not None


def without_furniture(paragraph: str) -> str:
    """The paragraph with its furniture sentences cut out; "" when nothing else is left."""
    if not _FURNITURE.search(paragraph):
        return paragraph
    spans = sentence_spans(paragraph)
    kept = [paragraph[a:b] for a, b in spans if not is_furniture(paragraph[a:b])]
    if len(kept) == len(spans):
        return paragraph
    if sum(map(len, kept)) < (1 - _MOSTLY) * len(paragraph):
        return ""  # what is left is the form's own text ("There was a problem signing you up.")
    return " ".join(kept)


def paragraphs_without_furniture(paragraphs: list[str]) -> list[str]:
    """Each paragraph without its furniture; paragraphs that were nothing else are dropped."""
    cleaned = (without_furniture(p) for p in paragraphs)
    return [p for p in cleaned if p]
