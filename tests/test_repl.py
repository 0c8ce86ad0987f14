"""`reviewer chat`: a real prompt_toolkit session typed into through a pipe (keys sent by a thread that waits
for the transcript, as a person would), the real CLI piped, and the real CLI in a pseudo-terminal.

The REPL's answers go to an injected Rich console, so the transcript can be asserted; prompt_toolkit draws the
prompt to a DummyOutput."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import bibtexparser
import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console
from typer.testing import CliRunner

from llm_fixtures import isolated_cache  # noqa: F401  (autouse)
from llm_fixtures import ASK_QUESTION, RecordingChatModel, fake_llm, ask_db, clean_env, open_fixture_library  # noqa: F401
from reviewer import ChatSession, citations
from reviewer.cli.main import app
from reviewer.extractive import NO_LLM_NOTE
from reviewer.chains.compare import NO_LLM_NOTE as COMPARE_NOTE
from reviewer.errors import InputError
from reviewer.repl import COMMANDS, ChatCompleter, Repl, review_argument, slug
from test_session import CARRIED, CONDENSED, FIRST_REPLY, FOLLOW_UP  # the same conversation

pytestmark = pytest.mark.block_network

ENTER, CTRL_C, CTRL_D, UP, TAB = "\r", "\x03", "\x04", "\x1b[A", "\t"
STEP_TIMEOUT = 60.0


def flat(text: str) -> str:
    return " ".join(text.split())


class SlowChatModel(RecordingChatModel):
    """Streams a word every ``delay`` seconds, like a model on a slow machine."""

    delay: float = 0.05

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        for chunk in super()._stream(messages, stop, run_manager, **kwargs):
            time.sleep(self.delay)
            yield chunk


class Typist(threading.Thread):
    """Types into a pipe input: each step waits until ``ready(transcript)`` holds, gives the prompt a moment to
    draw (history loads asynchronously, completions too), then sends its keys (or runs its action)."""

    def __init__(self, pipe, transcript: io.StringIO, steps):
        super().__init__(daemon=True)
        self.pipe, self.transcript, self.steps = pipe, transcript, steps
        self.error: str | None = None
        self.done = threading.Event()

    def run(self) -> None:
        for ready, keys in self.steps:
            deadline = time.monotonic() + STEP_TIMEOUT
            while ready is not None and not ready(self.transcript.getvalue()):
                if self.done.is_set():
                    return
                if time.monotonic() > deadline:
                    self.error = f"timed out before sending {keys!r}; transcript:\n{self.transcript.getvalue()}"
                    self.pipe.send_text(CTRL_D * 4)
                    return
                time.sleep(0.02)
            time.sleep(0.3)
            keys() if callable(keys) else self.pipe.send_text(keys)


def has(text: str, times: int = 1):
    return lambda transcript: transcript.count(text) >= times


def run_repl(session: ChatSession, steps, tmp_path: Path, history: FileHistory | None = None,
             terminal: bool = False) -> tuple[str, Repl]:
    """Run the interactive loop in this (main) thread while a Typist sends ``steps``; the transcript.
    ``terminal``: the answers' console is a terminal (replies stream into a provisional region)."""
    transcript = io.StringIO()
    console = Console(file=transcript, width=110, color_system=None, force_terminal=terminal or None)
    repl = Repl(session, console=console, out_dir=tmp_path / "out")
    with create_pipe_input() as pipe:
        typist = Typist(pipe, transcript, steps)
        typist.start()
        try:
            repl.interactive(history=history or FileHistory(str(tmp_path / "history")), input=pipe,
                             output=DummyOutput())
        finally:
            typist.done.set()
        typist.join(5)
    assert typist.error is None, typist.error
    return transcript.getvalue(), repl


@pytest.fixture
def library(ask_db, minilm, monkeypatch, tmp_path):
    return open_fixture_library(ask_db, minilm, monkeypatch, tmp_path / "cache", {})


# -- a session typed into ----------------------------------------------------------------------------
def test_question_follow_up_sources_show_and_export(library, tmp_path):
    export = tmp_path / "notes" / "chat.md"
    out, repl = run_repl(ChatSession(library), [
        (has("Ctrl-D quits"), ASK_QUESTION + ENTER),
        (has("Sources"), FOLLOW_UP + ENTER),
        (has("Sources", 2), "/sources" + ENTER),
        (has("Evidence for:"), "/show okafor2024pretraining" + ENTER),
        (has("Mara Okafor"), f"/export {export}" + ENTER),
        (has("wrote "), CTRL_D),
    ], tmp_path)
    text = flat(out)
    # The engine is named once, at the start, not under every answer.
    assert text.count(flat(NO_LLM_NOTE)) == 1 and text.index(flat(NO_LLM_NOTE)) < text.index("[okafor2024pretraining]")
    first, rest = out.split(f"↳ searching for: {CARRIED}", 1)
    assert "Sources" in first and "[okafor2024pretraining] Pretraining Mixtures Shape In-Context Learning" in flat(first)
    answer2, rest = rest.split("Evidence for:", 1)
    assert "[raman2024demonstrations] When Do Demonstrations Help?" in flat(answer2)
    sources, shown = rest.split("\nokafor2024pretraining  Pretraining Mixtures", 1)
    assert flat(sources).startswith(CARRIED)  # the evidence of the last answer: the follow-up's
    assert re.search(r"1 │ raman2024demonstrations .* │ +0\.\d\d │ +yes", sources)
    assert "authors: Mara Okafor, Lin Zhou" in flat(shown) and "year: 2024" in flat(shown)
    assert f"wrote {export} (2 turn(s)) and {export.with_suffix('.bib')} (3 reference(s))" in text
    md = export.read_text(encoding="utf-8")
    bib_keys = {e.key for e in bibtexparser.parse_string(export.with_suffix(".bib").read_text(encoding="utf-8")).entries}
    assert set(citations.cited_keys(md)) == bib_keys == {"okafor2024pretraining", "raman2024demonstrations",
                                                          "berg2023induction"}
    assert [t.prompt for t in repl.session.turns] == [ASK_QUESTION, FOLLOW_UP]


def test_replies_stream_provisionally_and_the_checked_answer_replaces_them(library, tmp_path):
    from reviewer.cli.output import Provisional

    invented = "Larger models follow flipped labels [raman2024demonstrations; smith2099invented]."
    llm, model = fake_llm(library, tmp_path, FIRST_REPLY, CONDENSED, invented)
    chat = ChatSession(library, llm=llm)
    out, _ = run_repl(chat, [
        (has("Ctrl-D quits"), ASK_QUESTION + ENTER),
        (has("Sources"), FOLLOW_UP + ENTER),
        (has("Sources", 2), CTRL_D),
    ], tmp_path, terminal=True)
    assert "No LLM is configured" not in out and "fake-model" in out.splitlines()[0]
    first, second = out.split(f"↳ searching for: {CONDENSED}", 1)
    assert Provisional.LABEL in first and Provisional.LABEL in second  # each reply streamed under the draft line
    # the draft region is erased (cursor up, erase line) before the checked answer is printed under it
    streamed, checked = second.rsplit("\x1b[2K", 1)
    assert "smith2099invented" in streamed
    checked = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", checked)
    assert flat(checked).startswith("Larger models follow flipped labels [raman2024demonstrations].")
    assert "warning: removed citation(s) of keys that were not in the evidence: smith2099invented" in flat(checked)
    assert "smith2099invented" not in flat(checked).split("warning:")[0]
    assert Provisional.LABEL not in checked


def test_a_reply_that_cites_nothing_is_replaced_by_the_cannot_answer_reply_and_the_best_evidence(library, tmp_path):
    llm, _ = fake_llm(library, tmp_path, "Pretraining data with rare tokens supports in-context learning a lot.")
    out, repl = run_repl(ChatSession(library, llm=llm), [
        (has("Ctrl-D quits"), ASK_QUESTION + ENTER),
        (has("Best evidence"), "/export " + str(tmp_path / "t.md") + ENTER),
        (has("wrote "), CTRL_D),
    ], tmp_path)
    answer = flat(out.split(ASK_QUESTION, 1)[-1])
    assert "I cannot answer this from this collection" in answer and "rare tokens" not in answer.split("warning")[0]
    assert re.search(r"Best evidence \(similarity to the question\) \[okafor2024pretraining\] Pretraining Mixtures "
                     r"Shape In-Context Learning 0\.\d\d", answer)
    assert "warning: the model's reply was rejected: it cites none of the papers it was shown" in answer
    transcript = (tmp_path / "t.md").read_text(encoding="utf-8")
    assert "*The model's reply was rejected: it cites none of the papers it was shown" in transcript
    assert repl.exit_codes == {3}


def test_ctrl_c_during_a_streamed_answer_returns_to_the_prompt(library, tmp_path):
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT is handled by something else in this process")
    long_reply = "Larger models follow flipped labels " + "and keep going " * 100 + "[raman2024demonstrations]."
    llm, _ = fake_llm(library, tmp_path, FIRST_REPLY, CONDENSED, long_reply, model_class=SlowChatModel)
    chat = ChatSession(library, llm=llm)
    started = time.monotonic()
    out, _ = run_repl(chat, [
        (has("Ctrl-D quits"), ASK_QUESTION + ENTER),
        (has("Sources"), FOLLOW_UP + ENTER),
        (has("Larger models follow"), lambda: os.kill(os.getpid(), signal.SIGINT)),  # a real Ctrl-C
        (has("(interrupted)"), "/sources" + ENTER),
        (has("Evidence for:"), "/cost" + ENTER),
        (has("this session:"), CTRL_D),
    ], tmp_path, terminal=True)
    assert time.monotonic() - started < 12  # the 15-second reply was cut short
    streamed, after = out.split("(interrupted)", 1)
    assert "Larger models follow" in streamed and "keep going [raman" not in flat(out)
    assert flat(after).startswith(f"Evidence for: {ASK_QUESTION}")  # the last complete answer's evidence
    assert "(2 model calls)" in flat(after)  # the first answer and the condensing; the cut reply is not counted
    assert chat.turns[-1].interrupted and chat.last.question == ASK_QUESTION


def test_up_arrow_recalls_history_which_persists_and_ctrl_c_clears_the_line(library, tmp_path):
    history = tmp_path / "history"
    chat = ChatSession(library)
    run_repl(chat, [
        (has("Ctrl-D quits"), ASK_QUESTION + ENTER),
        (has("Sources"), UP + ENTER),  # the same question again
        (has("Sources", 2), "half a thought" + CTRL_C),
        (None, "/cost" + ENTER),
        (has("this session:"), CTRL_D),
    ], tmp_path, FileHistory(str(history)))
    assert [t.prompt for t in chat.turns] == [ASK_QUESTION, ASK_QUESTION]
    # A new session over the same history file: up-arrow recalls the last line of the previous one.
    out, _ = run_repl(ChatSession(library), [(has("Ctrl-D quits"), UP + ENTER), (has("this session:"), CTRL_D)],
                      tmp_path, FileHistory(str(history)))
    assert "this session: tokens: 0 in / 0 out" in flat(out)
    saved = history.read_text(encoding="utf-8")
    # A line repeated right after itself is stored once (prompt_toolkit's rule); a cleared line never.
    assert saved.count(f"+{ASK_QUESTION}\n") == 1 and saved.count("+/cost\n") == 1 and "half a thought" not in saved


def test_tab_completes_commands_and_keys(library, tmp_path):
    out, _ = run_repl(ChatSession(library), [
        (has("Ctrl-D quits"), "/sh"),
        (None, TAB),
        (None, "okaf"),
        (None, TAB),
        (None, ENTER),
        (has("Mara Okafor"), CTRL_D),
    ], tmp_path)
    assert "okafor2024pretraining Pretraining Mixtures Shape In-Context Learning" in flat(out)


def test_slash_commands(library, tmp_path):
    out, repl = run_repl(ChatSession(library), [
        (has("Ctrl-D quits"), "/help" + ENTER),
        (has("leave (Ctrl-D also)"), "/sources" + ENTER),
        (has("No answer yet"), "/search induction circuits" + ENTER),
        (has("Top "), "/model" + ENTER),
        (has("papers per answer"), "/show" + ENTER),
        (has("error: /show needs KEY"), "/show nosuchkey" + ENTER),
        (has("no paper with key"), "/frobnicate" + ENTER),
        (has("unknown command"), ASK_QUESTION + ENTER),
        (has("Sources"), "/clear" + ENTER),
        (has("New topic"), "/quit" + ENTER),
    ], tmp_path)
    text = flat(out)
    for name in COMMANDS:
        assert name in text
    assert re.search(r"1 │ berg2023induction +│ 2023 │ Induction Circuits", out)
    assert "engine: extractive (no LLM configured" in text
    assert "error: /show needs KEY, e.g. /show vaswani2017attention" in text
    assert "error: no paper with key 'nosuchkey'" in text
    assert "error: unknown command /frobnicate: /help lists the commands" in text
    assert repl.session.last is None and len(repl.session.turns) == 1  # /clear keeps the transcript


def test_compare_in_the_chat(library, tmp_path):
    out, repl = run_repl(ChatSession(library), [
        (has("Ctrl-D quits"), "/compare induction circuits | demonstration labels" + ENTER),
        (has("Sources"), CTRL_D),
    ], tmp_path)
    comparison = repl.session.turns[-1].result
    header = next(line for line in out.splitlines() if "induction circuits" in line)  # a column per method
    assert "demonstration labels" in header
    assert [a for a in ("Task", "Approach", "Data", "Results", "Limitations")
            if any(line.startswith(f"│ {a} ") for line in out.splitlines())] == ["Task", "Approach", "Data",
                                                                                 "Results", "Limitations"]
    for paper in comparison.citations():
        assert f"[{paper.key}] {flat(paper.title)}" in flat(out)


# -- completion ----------------------------------------------------------------------------------------
def completions(library, text: str) -> list[str]:
    completer = ChatCompleter(ChatSession(library))
    return [c.text for c in completer.get_completions(Document(text, len(text)), CompleteEvent())]


def test_completer(library, tmp_path):
    assert completions(library, "/") == [name + (" " if arg else "") for name, (arg, _) in COMMANDS.items()]
    assert completions(library, "/s") == ["/search ", "/show ", "/sources"]
    assert completions(library, "/show ok") == ["okafor2024pretraining"]
    assert completions(library, "/show noise") == ["raman2024demonstrations"]  # a word of the title
    assert len(completions(library, "/show ")) == 6
    assert completions(library, "How does it") == [] and completions(library, "/search ok") == []
    (tmp_path / "notes.md").write_text("x")
    assert completions(library, f"/export {tmp_path}/no") == ["tes.md"]
    (tmp_path / "drafts").mkdir()
    assert completions(library, f"/review in-context learning --out {tmp_path}/dra") == ["fts"]
    assert completions(library, "/review in-context learning") == []


@pytest.mark.parametrize("argument, expected", [
    ("in-context learning", ("in-context learning", None)),
    ("in-context learning --out mydir", ("in-context learning", Path("mydir"))),
    ("in-context learning --out=drafts/icl ", ("in-context learning", Path("drafts/icl"))),
    ("in-context learning --out 'my drafts'", ("in-context learning", Path("my drafts"))),
    ("outlier detection --outliers", ("outlier detection --outliers", None)),  # not the option
])
def test_review_argument(argument, expected):
    assert review_argument(argument) == expected


@pytest.mark.parametrize("argument, message", [("icl --out", "--out needs a folder"),
                                               ("--out mydir", "needs TOPIC before --out")])
def test_review_argument_errors(argument, message):
    with pytest.raises(InputError, match=message):
        review_argument(argument)


def test_slug():
    assert slug("In-context learning: a survey?") == "in-context-learning-a-survey"
    assert slug("???") == "review"


# -- the CLI -------------------------------------------------------------------------------------------
@pytest.fixture
def chat_cli(ask_db, monkeypatch, tmp_path):
    def _run(lines: list[str], *options: str):
        clean_env(monkeypatch, tmp_path / "cache")
        monkeypatch.chdir(tmp_path)
        return CliRunner().invoke(app, ["chat", "--db", str(ask_db), *options], input="\n".join(lines) + "\n")

    return _run


def test_piped_questions_get_plain_answers(chat_cli, tmp_path):
    result = chat_cli([ASK_QUESTION, "", "# a comment", FOLLOW_UP, "/sources", "/export out/chat.md"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "\x1b[" not in out  # plain: no colours, no cursor movement
    assert out.startswith(f"> {ASK_QUESTION}\n- ")
    assert f"> {FOLLOW_UP}\n↳ searching for: {CARRIED}\n- " in out
    assert "\nSources:\n  [okafor2024pretraining]  Pretraining Mixtures Shape In-Context Learning\n" in out
    assert "# a comment" not in out
    assert flat(out.split("> /sources\n", 1)[1]).startswith(f"Evidence for: {CARRIED}")
    assert (tmp_path / "out" / "chat.md").exists() and (tmp_path / "out" / "chat.bib").exists()
    assert flat(NO_LLM_NOTE) in flat(result.stderr) and NO_LLM_NOTE not in out


def test_a_failed_line_makes_the_piped_chat_exit_1(chat_cli):
    result = chat_cli(["/show nosuchkey", ASK_QUESTION])
    assert result.exit_code == 1
    assert "error: no paper with key 'nosuchkey'" in flat(result.stderr)
    assert "Sources:" in result.stdout  # the next line was still answered


def test_export_errors_keep_the_session_and_a_bib_name_does_not_overwrite_the_transcript(chat_cli, tmp_path):
    (tmp_path / "file").write_text("a file, not a folder")
    result = chat_cli([ASK_QUESTION, "/export file/chat.md", "/export out/refs.bib", "/sources"])
    assert result.exit_code == 1  # a line failed, but the session went on
    assert f"error: cannot write {Path('file')}" in flat(result.stderr)
    assert f"wrote {Path('out/refs.md')} (1 turn(s)) and {Path('out/refs.bib')}" in result.stdout
    assert (tmp_path / "out" / "refs.md").read_text(encoding="utf-8").startswith("# Chat with the library")
    assert (tmp_path / "out" / "refs.bib").read_text(encoding="utf-8").startswith("@")
    assert "Evidence for:" in result.stdout


def test_an_unexpected_error_is_reported_and_the_session_goes_on(library, monkeypatch):
    def broken(query, k=10):
        raise RuntimeError("boom")

    chat = ChatSession(library)
    monkeypatch.setattr(chat, "search", broken)
    out, err = io.StringIO(), io.StringIO()
    repl = Repl(chat, console=Console(file=out, color_system=None, width=200),
                err_console=Console(file=err, color_system=None, width=200), plain=True)
    assert repl.pipe(["/search induction", ASK_QUESTION, "/export " + os.devnull + "/x.md"]) == 1
    assert "error: unexpected RuntimeError: boom (at test_repl.py:" in flat(err.getvalue())
    assert "error: cannot write" in flat(err.getvalue())
    assert "Sources:" in out.getvalue() and repl.failures == 2 and len(chat.turns) == 1


def test_show_in_the_chat_takes_keys_as_answers_print_them(chat_cli):
    result = chat_cli(["/show [okafor2024pretraining]", "/show [@raman2024demonstrations].",
                       "/show [berg2023induction; raman2024demonstrations]"])
    assert result.exit_code == 0, result.output
    for title in ("Pretraining Mixtures Shape In-Context Learning", "When Do Demonstrations Help?",
                  "Induction Circuits as a Mechanism"):
        assert title in result.stdout


def test_quit_stops_reading(chat_cli):
    result = chat_cli(["/quit", ASK_QUESTION])
    assert result.exit_code == 0 and "Sources" not in result.stdout


def test_chat_on_an_empty_library_says_what_to_do(monkeypatch, tmp_path):
    clean_env(monkeypatch, tmp_path / "cache")
    result = CliRunner().invoke(app, ["chat", "--db", str(tmp_path / "empty")], input="hello\n")
    assert result.exit_code != 0 and str(result.exception).startswith(f"no library in {tmp_path / 'empty'}")
    assert not (tmp_path / "empty").exists()


def test_the_real_command_in_a_terminal(ask_db, tmp_path, monkeypatch):
    """`reviewer chat` in a pseudo-terminal: the banner, an answer, Ctrl-C at the prompt, Ctrl-D quits."""
    import pty
    import select

    clean_env(monkeypatch, tmp_path / "cache")
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "120", "LINES": "40", "PROMPT_TOOLKIT_NO_CPR": "1"}
    reviewer = str(Path(sys.executable).with_name("reviewer"))
    main, child = pty.openpty()
    process = subprocess.Popen([reviewer, "chat", "--db", str(ask_db), "--history", str(tmp_path / "h")],
                               stdin=child, stdout=child, stderr=child, env=env, cwd=tmp_path, close_fds=True)
    os.close(child)
    seen = b""

    def until(marker: bytes, timeout: float = 60) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while marker not in seen:
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError(f"no {marker!r} in the terminal; it shows:\n{seen.decode(errors='replace')}")
            if select.select([main], [], [], 0.1)[0]:
                try:
                    seen += os.read(main, 65536)
                except OSError:
                    break

    try:
        until(b"Ctrl-D quits")
        until(b"\x1b[?2004h")  # the prompt is up (it turns bracketed paste on)
        os.write(main, ASK_QUESTION.encode() + b"\r")
        until(b"Sources")
        time.sleep(0.3)
        os.write(main, b"abandoned line\x03")
        time.sleep(0.3)
        os.write(main, b"\x04")
        assert process.wait(30) == 0
        while select.select([main], [], [], 0.5)[0]:  # what it printed before it quit
            try:
                chunk = os.read(main, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        if process.poll() is None:
            process.kill()
        os.close(main)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r", "", seen.decode(errors="replace"))
    assert "[okafor2024pretraining]" in text and "Pretraining Mixtures Shape In-Context Learning" in text
    assert (tmp_path / "h").read_text(encoding="utf-8").count(ASK_QUESTION) == 1


def test_piped_compare_and_review(chat_cli, tmp_path):
    result = chat_cli(["/compare induction circuits | demonstration labels", "/review in-context learning",
                       "/review in-context learning --out mine"], "--out", "drafts")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "> /compare induction circuits | demonstration labels\n| Method |" in out  # the note is not in stdout
    assert "| Method |" in out and "| induction circuits |" in out  # plain: the Markdown table
    assert flat(COMPARE_NOTE) not in flat(out) and flat(COMPARE_NOTE) in flat(result.stderr)
    assert "> /review in-context learning\nA draft on 'in-context learning': " in out
    assert f"wrote {Path('drafts') / 'in-context-learning' / 'review.md'}" in out
    assert (tmp_path / "drafts" / "in-context-learning" / "references.bib").exists()
    # /review TOPIC --out DIR: the draft goes to DIR, and the topic is only the topic
    assert "> /review in-context learning --out mine\nA draft on 'in-context learning': " in out
    assert f"wrote {Path('mine') / 'review.md'}" in out and (tmp_path / "mine" / "references.bib").exists()
    assert sorted(p.name for p in (tmp_path / "drafts").iterdir()) == ["in-context-learning"]
