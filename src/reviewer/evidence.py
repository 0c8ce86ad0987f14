"""Evidence: the papers a chain shows the model, formatted as ``[key] title — abstract`` and packed into a
token budget in relevance order. What does not fit is reported, never silently dropped."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from reviewer.corpus.model import Paper

# Any tag that could open or close the evidence fence: <evidence>, </evidence>, < /Evidence >, <evidence id=1>...
_FENCE = re.compile(r"<\s*/?\s*evidence\b[^>]*>", re.I)
_TAG_REMOVED = "(evidence tag removed)"
_SEPARATOR_TOKENS = 2  # the blank line between two items


@dataclass
class Evidence:
    key: str
    title: str
    abstract: str
    score: float = 0.0

    @classmethod
    def of(cls, paper: Paper, score: float = 0.0) -> "Evidence":
        return cls(paper.key, paper.title, paper.abstract, score)

    def render(self) -> str:
        # Evidence is untrusted data: a title or abstract must not be able to close the fence it sits in.
        title = _FENCE.sub(_TAG_REMOVED, " ".join(self.title.split()))
        abstract = _FENCE.sub(_TAG_REMOVED, self.abstract.strip())
        return f"[{self.key}] {title} — {abstract}"


@dataclass
class Packed:
    """What a prompt shows (``included``, in relevance order) and what did not fit (``dropped``).
    ``truncated``: keys of included items whose abstract was cut to fit (only ever the first item, when
    it alone exceeds the budget)."""

    included: list[Evidence] = field(default_factory=list)
    dropped: list[Evidence] = field(default_factory=list)
    truncated: list[str] = field(default_factory=list)
    tokens: int = 0

    def text(self) -> str:
        return "\n\n".join(e.render() for e in self.included)

    def keys(self) -> list[str]:
        return [e.key for e in self.included]


def pack(items: Sequence[Evidence], budget: int, model: str | None = None) -> Packed:
    """Take items in the given (relevance) order while they fit in ``budget`` tokens; a later, shorter item
    may still fit after a longer one was dropped. When even the most relevant item does not fit alone, its
    abstract is cut to fit rather than showing the model nothing."""
    from reviewer.tokens import count_tokens, truncate_to_tokens

    packed = Packed()
    for item in items:
        cost = count_tokens(item.render(), model) + _SEPARATOR_TOKENS
        if packed.tokens + cost <= budget:
            packed.included.append(item)
            packed.tokens += cost
        elif not packed.included and not packed.dropped:
            overhead = count_tokens(replace(item, abstract="").render(), model) + _SEPARATOR_TOKENS + 2
            cut = replace(item, abstract=truncate_to_tokens(item.abstract, budget - overhead, model).rstrip() + " …")
            while count_tokens(cut.render(), model) + _SEPARATOR_TOKENS > budget and cut.abstract.strip(" …"):
                cut = replace(cut, abstract=truncate_to_tokens(cut.abstract, count_tokens(cut.abstract, model) - 4,
                                                               model).rstrip(" …") + " …")
            packed.included.append(cut)
            packed.truncated.append(item.key)
            packed.tokens += count_tokens(cut.render(), model) + _SEPARATOR_TOKENS
        else:
            packed.dropped.append(item)
    return packed
