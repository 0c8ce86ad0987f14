"""Small text helpers shared by the chains and the front ends."""

from __future__ import annotations

import re

# Chat-template tokens (<|im_end|>, <|eot_id|>...) that some local servers let through into replies.
SPECIAL_TOKENS = re.compile(r"<\|[A-Za-z0-9_]+\|>")


def strip_special_tokens(text: str) -> str:
    """``text`` without chat-template tokens."""
    return SPECIAL_TOKENS.sub("", text or "")


def excerpt(text: str, limit: int = 80) -> str:
    """``text`` on one line, shortened to ``limit`` characters (an ellipsis marks a cut)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"
