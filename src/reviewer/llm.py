"""The LLM layer every chain uses: one chat-model factory, usage and cost, an on-disk response cache,
and precise errors.

Any OpenAI-compatible endpoint works (OpenAI, Azure-style, Ollama, vLLM, llama.cpp, LM Studio): the
factory returns LangChain's ``ChatOpenAI`` pointed at ``settings.llm.base_url``. Retries on 429, 5xx and
timeouts are the OpenAI client's own (exponential backoff with jitter, honouring Retry-After); what still
fails becomes an :class:`LLMError` that says what to do. API keys never appear in errors or logs.

Replies that cannot be trusted are errors, never cached: an empty reply, a body that is not a chat
completion, and a stream that was cut (the connection dropped mid-reply, or the stream ended without a
finish reason). When a server reports no usage (llama.cpp while streaming), tokens are estimated with
tiktoken and the usage is marked ``estimated``.

Budgets: ``max_tokens`` is sent as ``max_completion_tokens`` (OpenAI) and, to other endpoints, also as
``max_tokens`` in the body (llama.cpp ignores the former); one call may take ``timeout`` seconds *in all*
(retries and a trickling stream included: the call runs in a worker thread and is abandoned at its deadline),
and the calls of one command ``command_timeout`` seconds (:meth:`LLM.command`); a reply longer than
``max_reply_chars`` is cut there, with a warning (:attr:`Completion.cut`).
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reviewer.config import LLMSettings
from reviewer.errors import ReviewerError


class LLMError(ReviewerError):
    """A model call failed; the message says why and what to do."""


class StructuredOutputError(LLMError):
    """The model twice returned a value that does not match the requested structure. ``usage``: what the
    two attempts cost (a chain that falls back to something else still accounts for it)."""

    def __init__(self, message: str, usage: "Usage"):
        super().__init__(message)
        self.usage = usage


@dataclass
class Usage:
    """Tokens and cost of model calls (cached replies cost nothing and are counted apart).

    ``estimated``: some of the counts were estimated with tiktoken because the server reported no usage
    (llama.cpp does not while streaming); the summary marks them with ``~``.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    calls: int = 0
    cached_calls: int = 0
    estimated: bool = False

    def add(self, other: "Usage") -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cost += other.cost
        self.calls += other.calls
        self.cached_calls += other.cached_calls
        self.estimated = self.estimated or other.estimated

    def summary(self) -> str:
        approx = "~" if self.estimated else ""
        cached = f", {self.cached_calls} from cache" if self.cached_calls else ""
        estimated = ", estimated with tiktoken: the server reported no usage" if self.estimated else ""
        return (f"tokens: {approx}{self.input_tokens:,} in / {approx}{self.output_tokens:,} out, "
                f"cost {approx}${self.cost:.4f} "
                f"({self.calls} model call{'s' if self.calls != 1 else ''}{cached}{estimated})")

    def to_dict(self) -> dict:
        return {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens, "cost_usd": round(self.cost, 6),
                "calls": self.calls, "cached_calls": self.cached_calls, "estimated": self.estimated}


@dataclass
class Completion:
    """A model's reply. ``finish_reason`` is the server's ("stop"; "length": cut at the token limit)."""

    text: str
    usage: Usage = field(default_factory=Usage)
    cached: bool = False
    finish_reason: str | None = None
    cut: str | None = None  # a warning when the reply was cut at max_reply_chars


@dataclass
class Structured:
    """A reply parsed into a pydantic ``value``. ``repaired``: the first reply was invalid and the model fixed it."""

    value: Any
    usage: Usage = field(default_factory=Usage)
    repaired: bool = False
    cached: bool = False


@dataclass
class _Reply:
    text: str
    input_tokens: int | None  # None: the server reported no usage
    output_tokens: int | None
    finish_reason: str | None
    cut: bool = False


def price(settings: LLMSettings, model: str, input_tokens: int, output_tokens: int) -> float:
    """USD cost from the price table (0 for models it does not list, e.g. local ones)."""
    rates = settings.prices.get(model)
    if rates is None:  # dated snapshots: "gpt-4o-mini-2024-07-18" -> "gpt-4o-mini"
        rates = next((r for name, r in sorted(settings.prices.items(), key=lambda i: -len(i[0]))
                      if model.startswith(name + "-")), (0.0, 0.0))
    return (input_tokens * rates[0] + output_tokens * rates[1]) / 1_000_000


def make_chat_model(settings: LLMSettings, **overrides):
    """A LangChain ``ChatOpenAI`` for the configured endpoint."""
    from langchain_openai import ChatOpenAI

    if not settings.configured:
        raise LLMError("no LLM endpoint is configured: set REVIEWER_LLM__BASE_URL (local server) or OPENAI_API_KEY")
    key = settings.api_key.get_secret_value() if settings.api_key else "sk-no-key-needed"
    options = dict(
        model=settings.model, base_url=settings.base_url, api_key=key, temperature=settings.temperature,
        max_tokens=settings.max_tokens, timeout=settings.timeout, max_retries=settings.max_retries,
        stream_usage=True,
    )
    if settings.base_url:
        # ChatOpenAI sends max_completion_tokens, which llama.cpp and some other servers ignore.
        options["extra_body"] = {"max_tokens": settings.max_tokens}
    options.update(overrides)
    return ChatOpenAI(**options)


class ResponseCache:
    """Replies keyed by model + endpoint + messages + parameters, in SQLite (safe across processes)."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, text TEXT NOT NULL, usage TEXT NOT NULL)")

    def _connect(self):
        return sqlite3.connect(self.path, timeout=30)

    @staticmethod
    def key(payload: dict) -> str:
        return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    def get(self, key: str) -> tuple[str, dict] | None:
        with self._lock, self._connect() as db:
            row = db.execute("SELECT text, usage FROM replies WHERE key = ?", (key,)).fetchone()
        return (row[0], json.loads(row[1])) if row else None

    def put(self, key: str, text: str, usage: dict) -> None:
        with self._lock, self._connect() as db:
            db.execute("INSERT OR REPLACE INTO replies VALUES (?, ?, ?)", (key, text, json.dumps(usage)))

    def __len__(self) -> int:
        with self._lock, self._connect() as db:
            return db.execute("SELECT COUNT(*) FROM replies").fetchone()[0]


def default_cache_path() -> Path:
    from platformdirs import user_cache_dir

    return Path(os.environ.get("REVIEWER_CACHE_DIR") or user_cache_dir("reviewer")) / "responses.sqlite"


def _as_messages(messages: Sequence) -> list[dict]:
    """(role, content) dicts, whatever the input form (LangChain messages or dicts)."""
    out = []
    for m in messages:
        if isinstance(m, dict):
            out.append({"role": m["role"], "content": m["content"]})
        else:
            role = {"human": "user", "ai": "assistant"}.get(m.type, m.type)
            out.append({"role": role, "content": m.content})
    return out


class LLM:
    """A chat model with usage accounting and a response cache. One per session; chains share it."""

    def __init__(self, settings: LLMSettings, chat_model=None, cache: ResponseCache | None = None):
        self.settings = settings
        self.chat_model = chat_model if chat_model is not None else make_chat_model(settings)
        self.cache = cache if cache is not None else (ResponseCache(default_cache_path()) if settings.cache else None)
        self.usage = Usage()
        self._command_deadline: float | None = None

    @contextmanager
    def command(self, seconds: float | None = None):
        """Within this block, model calls end by ``seconds`` (default ``settings.command_timeout``) from now, in
        all; nested blocks keep the outer deadline when it is earlier."""
        outer = self._command_deadline
        deadline = time.monotonic() + (seconds if seconds is not None else self.settings.command_timeout)
        self._command_deadline = deadline if outer is None else min(outer, deadline)
        try:
            yield self
        finally:
            self._command_deadline = outer

    @property
    def model_name(self) -> str:
        return getattr(self.chat_model, "model_name", None) or getattr(self.chat_model, "model", None) or self.settings.model

    @property
    def max_retries(self) -> int:
        retries = getattr(self.chat_model, "max_retries", None)
        return retries if isinstance(retries, int) else self.settings.max_retries

    def complete(self, messages: Sequence, *, on_token: Callable[[str], None] | None = None,
                 use_cache: bool = True, max_tokens: int | None = None) -> Completion:
        """The model's reply to ``messages``; streamed to ``on_token`` when given. Raises LLMError.

        ``use_cache=False`` asks the model even if the cache holds this exact request (the new reply
        replaces the cached one). Empty, cut or unreadable replies raise and are never cached. ``max_tokens``:
        this call's own token budget (default ``settings.max_tokens``).
        """
        plain = _as_messages(messages)
        limit = max_tokens or self.settings.max_tokens
        payload = {"model": self.model_name, "base_url": self.settings.base_url or "openai",
                   "temperature": self.settings.temperature, "max_tokens": limit, "messages": plain}
        key = ResponseCache.key(payload)
        if use_cache and self.cache is not None and (hit := self.cache.get(key)) is not None:
            text, recorded = hit
            if on_token:
                on_token(text)
            usage = Usage(cached_calls=1)
            self.usage.add(usage)
            return Completion(text, usage, cached=True, finish_reason=recorded.get("finish_reason", "stop"),
                              cut=self._cut_warning() if recorded.get("cut") else None)

        reply = self._call(messages, on_token, None if max_tokens is None else limit)
        if not reply.text.strip():
            hint = (f"it stopped at the token limit (REVIEWER_LLM__MAX_TOKENS={limit}): raise it"
                    if reply.finish_reason == "length" else "try again, or use another model")
            raise LLMError(f"the model {self.model_name!r} returned an empty reply; {hint}")
        estimated = reply.input_tokens is None or reply.output_tokens is None
        if estimated:
            from reviewer.tokens import count_message_tokens, count_tokens

            input_tokens = count_message_tokens(plain, self.model_name)
            output_tokens = count_tokens(reply.text, self.model_name)
        else:
            input_tokens, output_tokens = reply.input_tokens, reply.output_tokens
        usage = Usage(input_tokens, output_tokens, price(self.settings, self.model_name, input_tokens, output_tokens),
                      1, estimated=estimated)
        self.usage.add(usage)
        if self.cache is not None:
            self.cache.put(key, reply.text, {**usage.to_dict(), "finish_reason": reply.finish_reason,
                                             "cut": reply.cut})
        return Completion(reply.text, usage, finish_reason=reply.finish_reason,
                          cut=self._cut_warning() if reply.cut else None)

    def _cut_warning(self) -> str:
        return (f"the reply was longer than {self.settings.max_reply_chars:,} characters and was cut there "
                "(REVIEWER_LLM__MAX_REPLY_CHARS)")

    def structured(self, messages: Sequence, schema: type, *, use_cache: bool = True,
                   check: Callable[[Any], list[str]] | None = None) -> Structured:
        """The model's reply to ``messages`` as an instance of the pydantic ``schema`` (LangChain's
        ``with_structured_output``, method ``settings.structured_method``). Raises LLMError.

        A reply that does not validate against ``schema``, or for which ``check(value)`` lists problems, gets
        one repair retry: the model is shown its reply and what is wrong with it. A second invalid reply raises
        StructuredOutputError (an LLMError carrying the attempts' usage). Each attempt's reply is cached under
        its whole conversation (with the schema), valid or not, so that a rerun with the cache takes exactly
        the same path and gives the same result at no cost; ``use_cache=False`` asks the model again.
        """
        method = self.settings.structured_method
        payload = {"model": self.model_name, "base_url": self.settings.base_url or "openai",
                   "temperature": self.settings.temperature, "max_tokens": self.settings.max_tokens,
                   "schema": schema.model_json_schema(), "method": method}
        runnable = None
        conversation, total, problems, cached = _as_messages(messages), Usage(), [], True
        for attempt in range(2):
            key = ResponseCache.key({**payload, "messages": conversation})
            hit = self.cache.get(key) if use_cache and self.cache is not None else None
            if hit is not None:
                raw_text, usage = hit[0], Usage(cached_calls=1)
            else:
                cached = False
                runnable = runnable or self.chat_model.with_structured_output(schema, method=method, include_raw=True)
                try:
                    raw = self._bounded(lambda: runnable.invoke(conversation)).get("raw")
                except LLMError:
                    raise
                except Exception as exc:  # openai / httpx errors become one clear message
                    raise explain(exc, self.settings, self.max_retries) from None
                raw_text = _structured_text(raw)
                usage = self._usage_of(raw, conversation, raw_text)
                if self.cache is not None:
                    self.cache.put(key, raw_text, usage.to_dict())
            total.add(usage)
            self.usage.add(usage)
            value, problems = _validated(schema, raw_text, check)
            if not problems:
                return Structured(value, total, repaired=attempt > 0, cached=cached)
            conversation = conversation + [
                {"role": "assistant", "content": raw_text or "(no reply)"},
                {"role": "user", "content": "That reply is not valid: " + "; ".join(problems)
                 + f". Reply again with one complete {schema.__name__} that fixes this."},
            ]
        raise StructuredOutputError(f"the model {self.model_name!r} twice sent a reply that is not a valid "
                                    f"{schema.__name__} (" + "; ".join(problems)[:300] + "): try again, or use a "
                                    "larger model",
                                    total)

    def _usage_of(self, raw, conversation: list[dict], raw_text: str) -> Usage:
        """The usage a structured call reported, or one estimated with tiktoken when the server reported none."""
        tokens = _reported_usage(getattr(raw, "usage_metadata", None))
        estimated = tokens[0] is None or tokens[1] is None
        if estimated:
            from reviewer.tokens import count_message_tokens, count_tokens

            tokens = (count_message_tokens(conversation, self.model_name), count_tokens(raw_text, self.model_name))
        return Usage(tokens[0], tokens[1], price(self.settings, self.model_name, *tokens), 1, estimated=estimated)

    def _deadline(self) -> tuple[float, float]:
        """(the monotonic time by which the next call must end, its length in seconds)."""
        now = time.monotonic()
        end = now + self.settings.timeout
        if self._command_deadline is not None:
            end = min(end, self._command_deadline)
        return end, max(0.0, end - now)

    def _call(self, messages: Sequence, on_token, max_tokens: int | None = None) -> _Reply:
        """One model call, run in a worker thread so that it ends by its deadline however the server behaves
        (a trickle of bytes resets a read timeout, never this one); streamed pieces go to ``on_token`` from
        the caller's thread, so its errors are its own. A reply longer than ``max_reply_chars`` is cut there."""
        options = {}
        if max_tokens is not None:
            options["max_tokens"] = max_tokens
            if self.settings.base_url:
                options["extra_body"] = {"max_tokens": max_tokens}
        if on_token is None:
            try:
                reply = self._bounded(lambda: self.chat_model.invoke(list(messages), **options))
            except LLMError:
                raise
            except Exception as exc:  # openai / httpx errors become one clear message
                raise explain(exc, self.settings, self.max_retries) from None
            text = _text(reply.content)
            finish = (getattr(reply, "response_metadata", None) or {}).get("finish_reason")
            return _Reply(_cut(text, self.settings.max_reply_chars),
                          *_reported_usage(getattr(reply, "usage_metadata", None)), finish,
                          len(text) > self.settings.max_reply_chars)

        deadline, seconds = self._deadline()
        events: queue.Queue = queue.Queue()
        stop = threading.Event()

        def work() -> None:
            try:
                for chunk in self.chat_model.stream(list(messages), **options):
                    events.put(("chunk", chunk))
                    if stop.is_set():
                        return
                events.put(("end", None))
            except BaseException as exc:  # handed to the caller's thread
                events.put(("error", exc))

        threading.Thread(target=work, name="reviewer-llm-call", daemon=True).start()
        parts: list[str] = []
        tokens: tuple[int | None, int | None] = (None, None)
        finish, chunks, received, cut = None, 0, 0, False
        try:
            while True:
                try:
                    kind, value = events.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    raise LLMError(self._overdue(seconds, received)) from None
                if kind == "error":
                    if isinstance(value, KeyboardInterrupt):
                        raise value
                    raise _interrupted(value, self.settings, self.max_retries, chunks, received) from None
                if kind == "end":
                    break
                chunks += 1
                piece = _text(value.content)
                if piece and not cut:
                    room = self.settings.max_reply_chars - received
                    if len(piece) > room:
                        piece, cut = piece[:room], True
                    parts.append(piece)
                    received += len(piece)
                    if piece:
                        on_token(piece)
                    if cut:  # enough: stop reading (what the server still sends is not wanted)
                        finish = finish or "cut"
                        break
                finish = (getattr(value, "response_metadata", None) or {}).get("finish_reason") or finish
                if getattr(value, "usage_metadata", None):
                    tokens = _reported_usage(value.usage_metadata)
        finally:
            stop.set()
        if finish is None:
            # The stream ended without a finish reason (and so without OpenAI's final chunk): the server
            # or a proxy cut it. What arrived is incomplete, so it is not returned (nor cached).
            raise LLMError(f"the reply from {endpoint_name(self.settings)} stopped before it was complete (the stream "
                           f"ended without a finish reason, after {received} characters): "
                           "it was discarded; try again")
        text = "".join(parts)
        return _Reply(_whole_sentences(text) if cut else text, *tokens, finish, cut)

    def _bounded(self, call: Callable[[], Any]) -> Any:
        """``call()`` run in a worker thread, waited for until the call's deadline (then LLMError)."""
        deadline, seconds = self._deadline()
        box: queue.Queue = queue.Queue()

        def work() -> None:
            try:
                box.put((True, call()))
            except BaseException as exc:  # handed to the caller's thread
                box.put((False, exc))

        threading.Thread(target=work, name="reviewer-llm-call", daemon=True).start()
        try:
            ok, value = box.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise LLMError(self._overdue(seconds, 0)) from None
        if not ok:
            raise value
        return value

    def _overdue(self, seconds: float, received: int) -> str:
        got = f" (after {received} characters of reply, discarded)" if received else ""
        return (f"{endpoint_name(self.settings)} did not complete its reply within {_seconds(seconds)} s{got}: "
                "the time limit of one model call (REVIEWER_LLM__TIMEOUT, retries included) or of the command "
                "(REVIEWER_LLM__COMMAND_TIMEOUT) ran out; raise it or use a faster model")


def _cut(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, and back to the end of its last whole sentence when that is in the
    second half (a cut reply ends with a sentence, not half a word or half a citation)."""
    return text if len(text) <= limit else _whole_sentences(text[:limit])


def _seconds(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _whole_sentences(cut: str) -> str:
    """A cut reply back to the end of its last whole sentence, when that is in its second half."""
    ends = [m.end() for m in re.finditer(r"[.!?](?:\s*\[[^\]]*\])*(?=\s)|\n", cut + " ")]
    return cut[:ends[-1]].rstrip() if ends and ends[-1] >= len(cut) // 2 else cut


def command_deadline(llm: "LLM | None"):
    """``llm.command()``: the calls in the block share the per-command deadline; a no-op without a model."""
    from contextlib import nullcontext

    return llm.command() if llm is not None else nullcontext()


def _structured_text(raw) -> str:
    """What the model sent for a structured call: the tool call's arguments (parsed or not), else its text."""
    if raw is None:
        return ""
    for call in getattr(raw, "tool_calls", None) or []:
        return json.dumps(call.get("args"), ensure_ascii=False)
    for call in getattr(raw, "invalid_tool_calls", None) or []:
        return str(call.get("args") or "")
    function_call = (getattr(raw, "additional_kwargs", None) or {}).get("function_call") or {}
    return function_call.get("arguments") or _text(getattr(raw, "content", ""))


def _validated(schema: type, raw_text: str, check) -> tuple[Any, list[str]]:
    """(value, problems) of a structured reply's text: validated by ``schema`` itself (the same whether the
    reply is fresh or cached, so a repair conversation is the same too), then by ``check``."""
    from pydantic import ValidationError

    if not raw_text.strip():
        return None, ["the reply held no value of the requested structure"]
    try:
        value = schema.model_validate_json(raw_text)
    except ValidationError as exc:
        return None, [_short_error(exc)]
    return value, (check(value) if check else [])


def _short_error(error) -> str:
    """A parse or validation error in a few lines (what the model is shown when asked to repair)."""
    text = str(error)
    text = text.split("For troubleshooting, visit")[0]
    lines = [line for line in text.splitlines() if line.strip() and "errors.pydantic.dev" not in line]
    return " ".join(" ".join(lines).split())[:600]


def _reported_usage(meta) -> tuple[int | None, int | None]:
    """(input, output) tokens the server reported, or (None, None) when it reported none."""
    if not meta or not (meta.get("input_tokens") or meta.get("output_tokens")):
        return None, None
    return int(meta.get("input_tokens") or 0), int(meta.get("output_tokens") or 0)


def _text(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content blocks
        return "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content)
    return str(content or "")


def endpoint_name(settings: LLMSettings) -> str:
    """The endpoint, for messages: never with credentials (user:key@host) or query parameters (?api-key=)."""
    if not settings.base_url:
        return "the OpenAI API"
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(settings.base_url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", "")) or "the configured endpoint"


def _interrupted(exc: Exception, settings: LLMSettings, retries: int, chunks: int, received: int) -> LLMError:
    """The error for an exception raised while a reply was streaming."""
    import openai

    if chunks and isinstance(exc, openai.APIConnectionError):
        how = "stopped sending" if isinstance(exc, openai.APITimeoutError) else "closed the connection"
        return LLMError(f"{endpoint_name(settings)} {how} in the middle of the reply (after {received} characters): "
                        "the reply is incomplete and was discarded; try again")
    return explain(exc, settings, retries)


def explain(exc: Exception, settings: LLMSettings, retries: int | None = None) -> LLMError:
    """A clear, key-free LLMError for an exception raised by a model call."""
    import openai
    from langchain_core.exceptions import ContextOverflowError

    where = endpoint_name(settings)
    retries = settings.max_retries if retries is None else retries
    after = f" after {retries} retr{'y' if retries == 1 else 'ies'}" if retries else ""
    if isinstance(exc, ContextOverflowError) or _is_context_overflow(exc):
        return LLMError(f"the prompt is too long for the context window of model {settings.model!r} at {where}: "
                        "lower REVIEWER_LLM__EVIDENCE_TOKENS or ask with a smaller -k")
    if isinstance(exc, openai.AuthenticationError):
        return LLMError(f"{where} refused the API key (401 Unauthorized): check your key "
                        "(OPENAI_API_KEY or REVIEWER_LLM__API_KEY)")
    if isinstance(exc, openai.PermissionDeniedError):
        return LLMError(f"{where} denied access (403) to model {settings.model!r}: check the key's permissions")
    if isinstance(exc, openai.NotFoundError):
        return LLMError(f"{where} has no model {settings.model!r} (404): check REVIEWER_LLM__MODEL "
                        "and REVIEWER_LLM__BASE_URL")
    if isinstance(exc, openai.RateLimitError):
        if getattr(exc, "code", None) == "insufficient_quota":
            return LLMError(f"{where} says the account has no quota left (429 insufficient_quota): check its billing")
        return LLMError(f"{where} is rate-limiting requests (429){after}: wait a minute and run again")
    if isinstance(exc, openai.APITimeoutError):
        return LLMError(f"{where} did not reply within {settings.timeout:g} s{after}: "
                        "raise REVIEWER_LLM__TIMEOUT or use a faster model")
    if isinstance(exc, openai.APIConnectionError):
        cause = _root_cause(exc)
        if type(cause).__name__ == "RemoteProtocolError":
            return LLMError(f"{where} closed the connection before the reply was complete{after}: "
                            "the server may have crashed or restarted; try again")
        return LLMError(f"cannot reach {where} ({type(cause).__name__}){after}: "
                        "is the server running and REVIEWER_LLM__BASE_URL right?")
    if isinstance(exc, openai.APIStatusError):
        detail = _server_message(exc, settings)
        if exc.status_code >= 500:
            return LLMError(f"{where} failed with HTTP {exc.status_code}{after}{detail}: "
                            "the server is in trouble; try again later")
        return LLMError(f"{where} rejected the request (HTTP {exc.status_code}){detail}: "
                        "check REVIEWER_LLM__MODEL and the other REVIEWER_LLM_* settings")
    if isinstance(exc, openai.APIError):
        return LLMError(f"{where} sent a reply that could not be read ({type(exc).__name__}"
                        f"{_server_message(exc, settings)}): try again")
    # Anything else raised while the reply was parsed (a body that is not the chat completions format).
    return LLMError(f"{where} sent a reply that could not be read ({type(exc).__name__}: "
                    f"{_scrub(str(exc), settings)[:200]}): is it an OpenAI-compatible chat endpoint?")


def _is_context_overflow(exc: Exception) -> bool:
    """A 400/413 saying the prompt does not fit (OpenAI: context_length_exceeded; llama.cpp, vLLM: in words)."""
    import openai

    if not isinstance(exc, openai.APIStatusError) or exc.status_code not in (400, 413):
        return False
    if getattr(exc, "code", None) == "context_length_exceeded":
        return True
    words = _server_text(exc).lower()
    return "context" in words and any(w in words for w in ("length", "window", "exceed"))


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost exception of a chain (LangChain wraps openai's, which wraps httpx's)."""
    seen = set()
    while exc.__cause__ is not None and id(exc) not in seen:
        seen.add(id(exc))
        exc = exc.__cause__
    return exc


def _server_text(exc: Exception) -> str:
    """The error message in the server's JSON body (OpenAI's {"error": {"message": ...}} or a bare one), or ''."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]
    message = body.get("message") if isinstance(body, dict) else None
    return message.strip() if isinstance(message, str) else ""


def _server_message(exc: Exception, settings: LLMSettings) -> str:
    """The server's own error message (scrubbed, shortened), as ' — message', or ''."""
    message = _server_text(exc)
    return f" — {_scrub(message, settings)[:200]}" if message else ""


_SECRET_LIKE = re.compile(r"\b(sk-[A-Za-z0-9_*\-]{3,}|Bearer\s+\S+)", re.I)


def _scrub(text: str, settings: LLMSettings) -> str:
    """``text`` without the configured key, nor anything that looks like one."""
    key = settings.api_key.get_secret_value() if settings.api_key else ""
    if key:
        text = text.replace(key, "***")
    return _SECRET_LIKE.sub("***", text)
