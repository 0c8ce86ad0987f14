"""Helpers and fixtures for the LLM-layer tests (imported by tests/test_llm*.py, test_ask*.py, test_cassettes*.py).

* Cassettes (vcrpy via pytest-recording) live in ``cassettes/`` at the repository root:
  ``cassettes/recorded/`` were recorded through real HTTP by ``make record`` (see scripts/record.py);
  ``cassettes/faults/`` are written by hand (401, 429, 500, cut streams, bad replies...).
  The record mode is pytest-recording's ``--record-mode`` (default ``none``: replay only, no network).
* The recorded ``ask`` scenario is fixed here (papers, question, k, model parameters) so that the request
  body is identical when the cassettes are replayed.
* :class:`RecordingChatModel`: a fake chat model that answers from a queue and keeps every message list it got.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field



REPO = Path(__file__).resolve().parents[1]
CASSETTES = REPO / "cassettes"

# --------------------------------------------------------------------------------------------- secrets
# Request headers that carry credentials (OpenAI, Azure, proxies) and response headers that name accounts.
SENSITIVE_HEADERS = ("authorization", "api-key", "x-api-key", "openai-organization", "openai-project", "cookie",
                     "set-cookie", "proxy-authorization")
SECRET_QUERY_PARAMETERS = ("api-key", "api_key", "key", "access_token")
# Anything that looks like a secret in a cassette (the scan in test_cassettes_secrets.py uses these too).
SECRET_PATTERNS = {
    "OpenAI-style key": re.compile(r"\bsk-[A-Za-z0-9_\-]{4,}"),
    "bearer token": re.compile(r"\bBearer\s+[A-Za-z0-9_\-.=:/+]{4,}", re.I),
    "authorization header": re.compile(r"^\s*['\"]?(proxy-)?authorization['\"]?\s*:", re.I | re.M),
    "api-key field": re.compile(r"['\"]?\b(x-)?api[-_]?key['\"]?\s*[:=]", re.I),
    "api-key query parameter": re.compile(r"[?&](api[-_]?key|key|access_token)=", re.I),
}
# A key the fault tests hand to the client: it must never come back in an error, a log or a cassette.
FAKE_KEY = "sk-test-DO-NOT-LEAK-0123456789abcdef"
REPLAY_KEY = "replay-without-a-key"


def redact(text: str) -> str:
    for pattern in (SECRET_PATTERNS["OpenAI-style key"], SECRET_PATTERNS["bearer token"]):
        text = pattern.sub("<redacted>", text)
    for name in ("OPENAI_API_KEY", "REVIEWER_LLM__API_KEY"):
        value = os.environ.get(name) or ""
        if len(value) >= 8:
            text = text.replace(value, "<redacted>")
    return text


def _scrub_response(response: dict) -> dict:
    """Drop account headers and redact anything key-like from a response before it is written."""
    response["headers"] = {k: v for k, v in response.get("headers", {}).items()
                           if k.lower() not in SENSITIVE_HEADERS}
    body = response.get("body", {}).get("string")
    if isinstance(body, bytes):
        try:
            response["body"]["string"] = redact(body.decode("utf-8")).encode("utf-8")
        except UnicodeDecodeError:
            pass
    elif isinstance(body, str):
        response["body"]["string"] = redact(body)
    return response


def vcr_options(match_on=("method", "uri", "body")) -> dict:
    """pytest-recording's ``vcr_config``. Recorded cassettes match on method, uri and body (the body holds the
    whole prompt, so a replay proves the request is unchanged); headers, which carry random request ids and
    retry counters, are never matched."""
    return {
        "filter_headers": list(SENSITIVE_HEADERS),
        "filter_query_parameters": list(SECRET_QUERY_PARAMETERS),
        "decode_compressed_response": True,
        "before_record_response": _scrub_response,
        "match_on": list(match_on),
    }


# -------------------------------------------------------------------------------------------- env
_LLM_ENV_PREFIXES = ("REVIEWER_", "OPENAI_", "AZURE_OPENAI_")


def clean_env(monkeypatch, cache_dir: Path) -> None:
    """No REVIEWER_*/OPENAI_* from the developer's shell, and caches (responses, tiktoken, ONNX) in ``cache_dir``."""
    from conftest import HOME_VARIABLES

    for name in list(os.environ):
        if name.startswith(_LLM_ENV_PREFIXES) and name not in HOME_VARIABLES:
            monkeypatch.delenv(name)
    monkeypatch.setenv("REVIEWER_CACHE_DIR", str(cache_dir))


@pytest.fixture(autouse=True)
def isolated_cache(monkeypatch, tmp_path):
    """Import this into a test module: its tests never write to the user's cache directory (responses,
    tiktoken files, the ONNX model), whatever else they do with the environment."""
    monkeypatch.setenv("REVIEWER_CACHE_DIR", str(tmp_path / "cache"))


# ----------------------------------------------------------------------------- the recorded ask scenario
# Six made-up papers (three on in-context learning): cassettes hold the prompt, so no sample-corpus text.
ASK_FIXTURE = Path(__file__).resolve().parent / "fixtures" / "ask" / "papers.jsonl"
ASK_QUESTION = "How does pretraining data support in-context learning?"
ASK_K = 4
ASK_EVIDENCE = ["okafor2024pretraining", "raman2024demonstrations", "berg2023induction"]  # what the question retrieves, in order
# The model parameters of the recorded requests (they are part of the request body).
ASK_LLM_ENV = {
    "REVIEWER_LLM__TEMPERATURE": "0",
    "REVIEWER_LLM__MAX_TOKENS": "160",
    "REVIEWER_LLM__MAX_RETRIES": "0",
    "REVIEWER_LLM__TIMEOUT": "300",
}
OPENAI_URL = "https://api.openai.com/v1"


def build_library(directory: Path, embedder, sources) -> Path:
    """A library of ``sources`` in ``directory`` (clean environment); returns its data directory."""
    from reviewer.config import Settings
    from reviewer.library import Library

    directory.mkdir(parents=True, exist_ok=True)
    with pytest.MonkeyPatch.context() as mp:
        clean_env(mp, directory / "cache")
        Library.open(settings=Settings(db=directory / "db"), embedder=embedder).ingest(sources)
    return directory / "db"


_BUILT: dict[str, Path] = {}


def fixture_db(name: str, sources, tmp_path_factory, embedder) -> Path:
    """The data directory of the scenario library ``name`` (built once per test session, then only read)."""
    if name not in _BUILT:
        _BUILT[name] = build_library(tmp_path_factory.mktemp(f"{name}-library"), embedder, sources)
    return _BUILT[name]


@pytest.fixture(scope="session")
def ask_db(tmp_path_factory, minilm) -> Path:
    """The data directory of the recorded `ask` scenario's library."""
    return fixture_db("ask", [ASK_FIXTURE], tmp_path_factory, minilm)


def open_fixture_library(db: Path, embedder, monkeypatch, cache_dir: Path, env: dict[str, str] | None = None):
    """A scenario's library with a clean environment plus ``env`` (REVIEWER_LLM_* settings)."""
    from reviewer.config import Settings
    from reviewer.library import Library

    clean_env(monkeypatch, cache_dir)
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    return Library.open(settings=Settings(db=db), embedder=embedder)


def cassette_fixtures(directory: Path = CASSETTES, *, replay_only: bool = False,
                      match_on=("method", "uri", "body")):
    """pytest-recording's two module fixtures, for a test module to bind:
    ``vcr_config, vcr_cassette_dir = cassette_fixtures(...)``. ``replay_only``: record mode none whatever
    --record-mode says (modules that only replay, and hand-written cassettes)."""

    @pytest.fixture(scope="module")
    def vcr_config():
        options = vcr_options(match_on)
        return {**options, "record_mode": "none"} if replay_only else options

    @pytest.fixture(scope="module")
    def vcr_cassette_dir():
        return str(directory)

    return vcr_config, vcr_cassette_dir


def cassette_endpoint_env(request, record_mode: str) -> dict[str, str]:
    """:func:`endpoint_env` for the cassette named by the test's ``default_cassette`` marker."""
    cassette = CASSETTES / (request.node.get_closest_marker("default_cassette").args[0] + ".yaml")
    return endpoint_env(cassette, record_mode)


def cassette_endpoint(cassette: Path) -> tuple[str | None, str]:
    """(base URL or None for OpenAI, model name) that a recorded cassette was made against."""
    data = yaml.safe_load(cassette.read_text(encoding="utf-8"))
    request = data["interactions"][0]["request"]
    base_url = request["uri"].rsplit("/chat/completions", 1)[0]
    return (None if base_url == OPENAI_URL else base_url), json.loads(request["body"])["model"]


def endpoint_env(cassette: Path, record_mode: str) -> dict[str, str]:
    """The REVIEWER_LLM_* endpoint variables for a recorded test: the developer's endpoint when recording,
    the cassette's when replaying (with a dummy key: the recorded request carries none)."""
    if record_mode != "none":
        env = {k: os.environ[k] for k in ("REVIEWER_LLM__BASE_URL", "REVIEWER_LLM__MODEL", "REVIEWER_LLM__API_KEY",
                                          "OPENAI_API_KEY") if os.environ.get(k)}
        if not (env.get("REVIEWER_LLM__BASE_URL") or env.get("OPENAI_API_KEY") or env.get("REVIEWER_LLM__API_KEY")):
            pytest.fail("recording needs an endpoint: set REVIEWER_LLM__BASE_URL (and REVIEWER_LLM__MODEL) "
                        "or OPENAI_API_KEY")
        return env
    if not cassette.exists():
        pytest.fail(f"missing cassette {cassette.relative_to(REPO)}: run `make record` against an endpoint")
    base_url, model = cassette_endpoint(cassette)
    env = {"REVIEWER_LLM__MODEL": model, "REVIEWER_LLM__API_KEY": REPLAY_KEY}
    if base_url:
        env["REVIEWER_LLM__BASE_URL"] = base_url
    return env


def recorded_interactions(cassette: Path) -> list[dict]:
    return yaml.safe_load(cassette.read_text(encoding="utf-8"))["interactions"]


def sse_events(body: str) -> list[dict]:
    """The JSON events of a recorded server-sent-events body ([DONE] left out)."""
    events = []
    for line in body.splitlines():
        if line.startswith("data:") and line[5:].strip() != "[DONE]":
            events.append(json.loads(line[5:]))
    return events


def recorded_reply(interaction: dict) -> tuple[str, dict | None, str | None]:
    """(reply text, reported usage or None, finish reason) of a recorded chat completion, streamed or not."""
    body = interaction["response"]["body"]["string"]
    request = json.loads(interaction["request"]["body"])
    if request.get("stream"):
        events = sse_events(body)
        choices = [c for e in events for c in e.get("choices") or []]
        text = "".join((c.get("delta") or {}).get("content") or "" for c in choices)
        usage = next((e["usage"] for e in events if e.get("usage")), None)
        finish = next((c["finish_reason"] for c in choices if c.get("finish_reason")), None)
        return text, usage, finish
    data = json.loads(body)
    return data["choices"][0]["message"]["content"], data.get("usage"), data["choices"][0].get("finish_reason")


# ------------------------------------------------------------------------------------------ fake model
class RecordingChatModel(BaseChatModel):
    """A chat model that answers from ``replies`` (in order) and keeps every message list in ``received``.

    ``usage``: the (input, output) tokens it reports, or None to report none (like llama.cpp streaming).
    """

    replies: list[str] = Field(default_factory=list)
    received: list[list[Any]] = Field(default_factory=list)
    usage: tuple[int, int] | None = (120, 30)
    finish_reason: str = "stop"
    model_name: str = "fake-model"

    @property
    def _llm_type(self) -> str:
        return "recording-fake"

    def _next(self, messages) -> str:
        self.received.append(list(messages))
        if not self.replies:
            raise AssertionError("RecordingChatModel: no reply queued for this call")
        return self.replies.pop(0)

    def _usage(self):
        if self.usage is None:
            return None
        return {"input_tokens": self.usage[0], "output_tokens": self.usage[1],
                "total_tokens": self.usage[0] + self.usage[1]}

    def bind_tools(self, tools, *, tool_choice=None, **kwargs):
        """Structured output (``with_structured_output``) binds the schema as a tool; the next queued reply
        is then the tool call's JSON arguments (invalid JSON becomes an invalid tool call)."""
        from langchain_core.utils.function_calling import convert_to_openai_tool

        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], tool_choice=tool_choice)

    def _generate(self, messages, stop=None, run_manager=None, tools=None, **kwargs) -> ChatResult:
        text = self._next(messages)
        meta = {"usage_metadata": self._usage(), "response_metadata": {"finish_reason": self.finish_reason}}
        if tools:
            name = tools[0]["function"]["name"]
            try:
                args = json.loads(text)
            except json.JSONDecodeError as exc:
                message = AIMessage(content="", invalid_tool_calls=[
                    {"name": name, "args": text, "id": f"call_{len(self.received)}", "error": str(exc),
                     "type": "invalid_tool_call"}], **meta)
            else:
                message = AIMessage(content="", tool_calls=[
                    {"name": name, "args": args, "id": f"call_{len(self.received)}", "type": "tool_call"}], **meta)
        else:
            message = AIMessage(content=text, **meta)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        text = self._next(messages)
        for piece in re.findall(r"\S+\s*|\s+", text):
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
        yield ChatGenerationChunk(message=AIMessageChunk(content="", usage_metadata=self._usage(),
                                                         response_metadata={"finish_reason": self.finish_reason}))

    def last_messages(self) -> list[dict]:
        """The last call's messages as role/content dicts."""
        return [{"role": {"human": "user", "ai": "assistant"}.get(m.type, m.type), "content": m.content}
                for m in self.received[-1]]


def fake_llm(owner, tmp_path: Path, *replies: str, model_class=None, **options):
    """(an LLM over a fake chat model answering ``replies`` in order, the fake model). ``owner``: a Library,
    Settings or LLMSettings (whose LLM settings are used); the response cache is ``tmp_path/r.sqlite``."""
    from reviewer.llm import LLM, ResponseCache

    settings = getattr(getattr(owner, "settings", owner), "llm", owner)
    model = (model_class or RecordingChatModel)(replies=list(replies), **options)
    return LLM(settings, chat_model=model, cache=ResponseCache(tmp_path / "r.sqlite")), model
