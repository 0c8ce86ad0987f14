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
    ``truncated``: keys of included items whose abstract was cut to fit (with :func:`pack`, only ever the
    first item, when it alone exceeds the budget; with :func:`pack_shared`, every long one)."""

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


def pack_shared(items: Sequence[Evidence], budget: int, model: str | None = None, *,
                min_share: int = 40) -> Packed:
    """Like :func:`pack`, but when the items do not all fit, every abstract is cut to a fair share of the
    budget rather than leaving papers out: short abstracts stay whole and the longer ones share what is left
    equally. Only when even ``min_share`` tokens each would not fit are the least relevant items dropped.
    Used where every paper should be seen (a review section is written from all of its theme's papers)."""
    from reviewer.tokens import count_tokens, truncate_to_tokens

    items = list(items)
    costs = [count_tokens(item.render(), model) + _SEPARATOR_TOKENS for item in items]
    if sum(costs) <= budget:
        return Packed(included=items, tokens=sum(costs))
    overheads = [count_tokens(replace(item, abstract="").render(), model) + _SEPARATOR_TOKENS + 4 for item in items]
    kept = len(items)
    while kept and sum(overheads[:kept]) + kept * min_share > budget:
        kept -= 1
    lengths = [count_tokens(item.abstract, model) for item in items[:kept]]
    remaining, caps = budget - sum(overheads[:kept]), [0] * kept
    for left, i in enumerate(sorted(range(kept), key=lambda j: lengths[j]), start=0):
        share = remaining // (kept - left)
        caps[i] = min(lengths[i], share)
        remaining -= caps[i]
    packed = Packed(dropped=items[kept:])
    for item, length, cap in zip(items[:kept], lengths, caps):
        if cap < length:
            item = replace(item, abstract=truncate_to_tokens(item.abstract, cap, model).rstrip() + " …")
            packed.truncated.append(item.key)
        packed.included.append(item)
        packed.tokens += count_tokens(item.render(), model) + _SEPARATOR_TOKENS
    return packed
