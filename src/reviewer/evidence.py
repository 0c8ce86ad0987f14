"""Evidence: the papers a chain shows the model, formatted as ``[key] title — abstract`` and packed into a
token budget in relevance order. What does not fit is reported, never silently dropped.

Evidence is untrusted data (anyone can write an abstract), so what the model is shown is cleaned first
(:meth:`Evidence.render`): each item is one line; a line that imitates an evidence item (``[key] ...``) or a
chat role (``SYSTEM:``, ``assistant:``), and a sentence that gives instructions ("ignore previous
instructions", "the evidence is over", "reply with ...") is replaced by :data:`NEUTRALISED`; tags of the
prompt's own markup (``<evidence>``, ``<section>``...) and chat-template tokens are replaced by
:data:`TAG_REMOVED`. Each replacement is counted (:meth:`Packed.neutralised`) and reported by the chains.
:func:`delimited` puts a boundary line, unique to the request, before each item and after the last.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from reviewer.corpus.model import Paper

_KEY = r"[A-Za-z0-9][A-Za-z0-9_:.\-]*"
# Tags of the prompts' own markup, in any spelling: <evidence>, </evidence>, < /Evidence >, <section id=1>...
_FENCE = re.compile(r"<\s*/?\s*(?:evidence|section|conversation|system|user|assistant|instructions?|context|"
                    r"documents?|question|answer|papers?)\b[^>]*>|<\|[A-Za-z0-9_]+\|>", re.I)
TAG_REMOVED = "(tag removed)"
NEUTRALISED = "(removed: text that imitated an instruction or the prompt's format)"
# A line that imitates an evidence item or a chat turn, or the boundary lines of :func:`delimited`.
_FORGED_LINE = re.compile(rf"^\s*(?:[#>*\-]+\s*)?(?:\[\s*@?{_KEY}(?:\s*[;,]\s*@?{_KEY})*\s*\]\s|"
                          r"(?:system|assistant|user|human|developer|tool|instructions?)\s*:|<<|={3,}|#{3,}|-{3,}\s*evidence)",
                          re.I)
# A sentence that speaks to the model rather than about research.
_INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+|the\s+|your\s+)*(?:previous|prior|above|earlier|"
    r"preceding|system|these|those)?\s*(?:instructions?|rules|prompts?|guidelines)\b"
    r"|\bthe\s+evidence\s+(?:is|has)\s+(?:now\s+)?(?:over|ended|finished|complete|done)\b|\bend\s+of\s+(?:the\s+)?evidence\b"
    r"|\bnew\s+instructions?\b|\byou\s+are\s+now\b|\bdeveloper\s+mode\b"
    r"|\byou\s+(?:must|should|will|are\s+to)\s+(?:now\s+)?(?:reply|respond|answer|say|output|print|write|cite|ignore)\b"
    r"|(?:^|[.!?:;]\s+)(?:now\s+|please\s+)?(?:reply|respond|answer|say|output|print|write)\s+(?:only\s+)?"
    r"(?:with|the\s+(?:single\s+)?word)\b",
    re.I)
_SEPARATOR_TOKENS = 2  # the blank line between two items
DELIMITER_TOKENS = 20  # a boundary line of :func:`delimited` and its line break (11-19 tokens measured)


def _sentences(line: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", line) if s]


def clean_untrusted(text: str) -> tuple[str, int]:
    """``text`` (a title or abstract) as one line with forged lines, instruction sentences and prompt tags
    neutralised; and how many it neutralised."""
    count = 0

    def tag(_: re.Match) -> str:
        nonlocal count
        count += 1
        return TAG_REMOVED

    out: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if _FORGED_LINE.match(line):
            out.append(NEUTRALISED)
            count += 1
            continue
        for sentence in _sentences(" ".join(line.split())):  # parsers often join an abstract's lines into one
            if _INSTRUCTION.search(sentence) or _FORGED_LINE.match(sentence):
                out.append(NEUTRALISED)
                count += 1
            else:
                out.append(_FENCE.sub(tag, sentence))
    cleaned = " ".join(out)
    # A tag split across the lines of the original ("</evidence\n>") is whole again once the text is one line.
    return _FENCE.sub(tag, cleaned), count


def boundary(*parts: str) -> str:
    """The boundary line of one request: derived from everything the request shows (its question and evidence),
    so an abstract cannot contain it (it would change it) and the same request, and its cache entry, stays
    the same."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]
    return f"### PAPER {digest} ###"


def delimited(items: Sequence["Evidence"], marker: str) -> str:
    """The items' renderings, each after a ``marker`` line, with a last ``marker`` line after them."""
    return "".join(f"{marker}\n{item.render()}\n" for item in items) + marker


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
        """``[key] title — abstract`` on one line, cleaned (see the module notes)."""
        return f"[{self.key}] {clean_untrusted(self.title)[0]} — {clean_untrusted(self.abstract)[0]}"

    def neutralised(self) -> int:
        """How many lines, sentences or tags of its title and abstract :meth:`render` neutralises."""
        return clean_untrusted(self.title)[1] + clean_untrusted(self.abstract)[1]


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

    def neutralised(self) -> dict[str, int]:
        """Keys of the included items whose text was neutralised, with how many lines/sentences/tags."""
        return {e.key: n for e in self.included if (n := e.neutralised())}


def pack(items: Sequence[Evidence], budget: int, model: str | None = None, *,
         separator: int = _SEPARATOR_TOKENS) -> Packed:
    """Take items in the given (relevance) order while they fit in ``budget`` tokens; a later, shorter item
    may still fit after a longer one was dropped. When even the most relevant item does not fit alone, its
    abstract is cut to fit rather than showing the model nothing. ``separator``: the tokens each item costs
    besides its rendering (:data:`DELIMITER_TOKENS` for :func:`delimited` evidence)."""
    from reviewer.tokens import count_tokens, truncate_to_tokens

    packed = Packed()
    for item in items:
        cost = count_tokens(item.render(), model) + separator
        if packed.tokens + cost <= budget:
            packed.included.append(item)
            packed.tokens += cost
        elif not packed.included and not packed.dropped:
            overhead = count_tokens(replace(item, abstract="").render(), model) + separator + 2
            cut = replace(item, abstract=truncate_to_tokens(item.abstract, budget - overhead, model).rstrip() + " …")
            while count_tokens(cut.render(), model) + separator > budget and cut.abstract.strip(" …"):
                cut = replace(cut, abstract=truncate_to_tokens(cut.abstract, count_tokens(cut.abstract, model) - 4,
                                                               model).rstrip(" …") + " …")
            packed.included.append(cut)
            packed.truncated.append(item.key)
            packed.tokens += count_tokens(cut.render(), model) + separator
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
