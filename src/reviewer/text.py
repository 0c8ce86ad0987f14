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


# Terminal escape sequences (CSI "ESC [ ... final", OSC "ESC ] ... BEL or ESC \", other two-byte ESC codes)
# and the remaining C0/C1 control characters except tab and newline.
_ESCAPE_SEQUENCE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]?|\x9b[0-?]*[ -/]*[@-~]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_control(text: str) -> str:
    """``text`` without terminal escape sequences and control characters (tab and newline kept), so paper text
    can neither move the cursor, retitle the window nor hide itself when printed."""
    return _CONTROL.sub("", _ESCAPE_SEQUENCE.sub("", text or ""))
