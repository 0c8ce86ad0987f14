"""ChatSession: follow-ups made standalone (with the model: the condense prompt; offline: the previous topic's
terms), the last answer and its evidence, interrupted answers, usage, and the Markdown + BibTeX export."""

from __future__ import annotations

import re
from pathlib import Path

import bibtexparser
import pytest

from llm_fixtures import isolated_cache  # noqa: F401  (autouse)
from llm_fixtures import ASK_EVIDENCE, ASK_QUESTION, FAKE_KEY, RecordingChatModel, fake_llm, ask_db, open_fixture_library  # noqa: F401
from reviewer import ChatSession, citations
from reviewer.chains.ask import CANNOT_ANSWER
from reviewer.errors import InputError
from reviewer.extractive import NO_LLM_NOTE
from reviewer.llm import LLM
from reviewer.session import carry_terms, content_words, looks_like_follow_up

pytestmark = pytest.mark.block_network

FOLLOW_UP = "What about label noise?"
CARRIED = "What about label noise? — in-context learning"
CONDENSED = "How does label noise in demonstrations affect in-context learning?"
FIRST_REPLY = "Pretraining mixtures with rare tokens make in-context learning more reliable [okafor2024pretraining]."
SECOND_REPLY = "Larger models follow flipped demonstration labels, smaller ones rely on the format [raman2024demonstrations]."


class InterruptingChatModel(RecordingChatModel):
    """Streams its reply up to the marker ``<ctrl-c>``, then raises KeyboardInterrupt as Ctrl-C would."""

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        for chunk in super()._stream(messages, stop, run_manager, **kwargs):
            if "<ctrl-c>" in chunk.message.content:
                raise KeyboardInterrupt
            yield chunk


@pytest.fixture
def library(ask_db, minilm, monkeypatch, tmp_path):
    return open_fixture_library(ask_db, minilm, monkeypatch, tmp_path / "cache", {})


@pytest.fixture
def searched(library, monkeypatch):
    """Every query the library is searched with, in order."""
    queries: list[str] = []
    search = library.search

    def spy(query, *args, **kwargs):
        queries.append(query)
        return search(query, *args, **kwargs)

    monkeypatch.setattr(library, "search", spy)
    return queries


# -- the offline rule ----------------------------------------------------------------------------------
@pytest.mark.parametrize("question, expected", [
    ("What about label noise?", True),          # a continuation
    ("And for vision models?", True),
    ("Does it hold for small models?", True),    # refers back
    ("Which of these papers uses the largest models?", True),
    ("Why?", True),                              # too short to have a topic of its own
    ("Tell me more", True),
    ("How does pretraining data support in-context learning?", False),
    ("Which benchmarks evaluate multimodal models on financial documents?", False),
])
def test_what_looks_like_a_follow_up(question, expected):
    assert looks_like_follow_up(question) is expected


def test_content_words_leave_out_function_question_and_filler_words():
    assert content_words("How does pretraining data support in-context learning in these papers?") == [
        "pretraining", "data", "support", "in-context", "learning"]


def test_the_topic_shared_by_the_evidence_is_carried_not_the_detail():
    evidence = ["Pretraining data and in-context learning.", "Label noise and in-context learning.",
                "Induction circuits for in-context learning."]
    # Two words of its own, so two terms are carried: those most of the previous evidence shares.
    assert carry_terms(FOLLOW_UP, ASK_QUESTION, evidence) == CARRIED
    # No word of its own: the whole previous topic, in its order.
    assert carry_terms("Why?", ASK_QUESTION, evidence) == "Why? — pretraining data support in-context learning"
    # Without evidence, the first terms in order.
    assert carry_terms(FOLLOW_UP, ASK_QUESTION) == "What about label noise? — pretraining data"
    # A question with a topic of its own is left alone.
    standalone = "Which benchmarks evaluate multimodal models on financial documents?"
    assert carry_terms(standalone, ASK_QUESTION, evidence) == standalone


# -- the extractive engine -----------------------------------------------------------------------------
def test_offline_follow_up_is_retrieved_with_the_previous_topic(library, searched):
    chat = ChatSession(library)
    assert chat.engine == "extractive"
    first = chat.ask(ASK_QUESTION)
    rewritten = []
    second = chat.ask(FOLLOW_UP, on_rewrite=rewritten.append)
    assert searched == [ASK_QUESTION, CARRIED]
    assert rewritten == [CARRIED] and second.question == CARRIED
    assert [(t.prompt, t.standalone, t.rewrite) for t in chat.turns] == [(ASK_QUESTION, None, None),
                                                                        (FOLLOW_UP, CARRIED, "terms")]
    assert first.notice == NO_LLM_NOTE and NO_LLM_NOTE not in first.text and chat.turns[0].text == first.text
    assert chat.last is second
    assert [e.key for e in chat.sources()] == [e.key for e in second.evidence]
    assert chat.sources()[0].key == "raman2024demonstrations"  # the label-noise paper comes first
    # the quotes answer what was typed (label noise), not the carried topic terms
    assert second.text.splitlines()[0].startswith("- We measure how much the correctness of demonstration labels")
    assert chat.usage.calls == 0


def test_clear_forgets_the_conversation_but_keeps_the_transcript(library, searched):
    chat = ChatSession(library)
    chat.ask(ASK_QUESTION)
    chat.clear()
    assert chat.last is None and chat.sources() == []
    chat.ask(FOLLOW_UP)
    assert searched == [ASK_QUESTION, FOLLOW_UP]  # nothing carried over
    assert [t.prompt for t in chat.turns] == [ASK_QUESTION, FOLLOW_UP]


def test_an_empty_question_is_an_input_error(library):
    with pytest.raises(InputError, match="empty"):
        ChatSession(library).ask("   ")


def test_an_unanswerable_question_is_kept_with_its_fixed_reply(library):
    chat = ChatSession(library)
    answer = chat.ask("What is the best recipe for sourdough bread?")
    assert answer.text == CANNOT_ANSWER and chat.turns[0].text == CANNOT_ANSWER and chat.turns[0].papers == []


# -- with a model ----------------------------------------------------------------------------------------
def test_the_model_condenses_a_follow_up_and_the_condensed_question_is_retrieved(library, tmp_path, searched):
    llm, model = fake_llm(library, tmp_path, FIRST_REPLY, f"Standalone question: {CONDENSED}", SECOND_REPLY)
    chat = ChatSession(library, llm=llm)
    assert chat.engine == "llm"
    chat.ask(ASK_QUESTION)
    answer = chat.ask(FOLLOW_UP)
    assert searched == [ASK_QUESTION, CONDENSED]
    assert answer.question == CONDENSED and chat.turns[1].rewrite == "model"
    # The condense prompt shows the conversation, fenced, then the follow-up.
    condense = model.received[1]
    assert condense[0].content.startswith("You help a research assistant search")
    assert f"<conversation>\nUser: {ASK_QUESTION}\nAssistant: {FIRST_REPLY}\n</conversation>" in condense[1].content
    assert condense[1].content.endswith(f"Latest question: {FOLLOW_UP}\n\nStandalone question:")
    # The answer prompt asks the condensed question.
    assert model.received[2][1].content.endswith(f"Question: {CONDENSED}")
    assert [p.key for p in answer.citations] == ["raman2024demonstrations"]
    # Usage: two answers and one condensing, 120 in / 30 out each.
    assert (chat.usage.calls, chat.usage.input_tokens, chat.usage.output_tokens) == (3, 360, 90)


def test_the_first_question_is_not_condensed(library, tmp_path):
    llm, model = fake_llm(library, tmp_path, FIRST_REPLY)
    ChatSession(library, llm=llm).ask(ASK_QUESTION)
    assert len(model.received) == 1


def test_a_question_the_model_leaves_unchanged_is_not_marked_rewritten(library, tmp_path, searched):
    other = "Which benchmarks evaluate multimodal models on financial documents?"
    llm, _ = fake_llm(library, tmp_path, FIRST_REPLY, other, "FinQA-Bench tests multimodal models on reports [satofinqa].")
    chat = ChatSession(library, llm=llm)
    chat.ask(ASK_QUESTION)
    chat.ask(other)
    assert searched[-1] == other and chat.turns[-1].standalone is None and chat.turns[-1].rewrite is None


@pytest.mark.parametrize("reply", ["?", "<|im_end|>", "x " * 400, "No, label noise does not matter."])
def test_an_unusable_condensed_reply_falls_back_to_the_previous_topics_terms(library, tmp_path, searched, reply):
    llm, _ = fake_llm(library, tmp_path, FIRST_REPLY, reply, SECOND_REPLY)
    chat = ChatSession(library, llm=llm)
    chat.ask(ASK_QUESTION)
    chat.ask(FOLLOW_UP)
    assert searched[-1] == CARRIED and chat.turns[-1].rewrite == "terms"


def test_an_interrupted_answer_is_recorded_as_such_and_is_not_the_last_answer(library, tmp_path):
    llm, model = fake_llm(library, tmp_path, FIRST_REPLY, CONDENSED, "Larger models follow <ctrl-c> flipped labels.",
                          SECOND_REPLY, model_class=InterruptingChatModel)
    chat = ChatSession(library, llm=llm)
    first = chat.ask(ASK_QUESTION, on_token=lambda piece: None)
    streamed: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        chat.ask(FOLLOW_UP, on_token=streamed.append)
    assert "".join(streamed) == "Larger models follow "
    assert chat.turns[-1].interrupted and chat.turns[-1].text == "" and chat.turns[-1].standalone == CONDENSED
    assert chat.last is first  # /sources still shows the last complete answer
    assert chat.usage.calls == 2  # the answer and the condensing; the cut reply is not counted
    # The conversation goes on: the interrupted turn is no context (the same condensing is reused from the
    # cache), and the cut reply was not cached (the model is asked again).
    chat.ask(FOLLOW_UP, on_token=lambda piece: None)
    assert len(model.received) == 4 and model.received[3] == model.received[2]
    assert chat.usage.cached_calls == 1
    assert chat.last.text == SECOND_REPLY and chat.last.question == CONDENSED
    assert "*(interrupted)*" in chat.to_markdown()


def test_describe_model_names_model_and_endpoint_but_never_the_key(library, tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEWER_LLM__BASE_URL", "http://user:secret@127.0.0.1:8080/v1?api-key=abc")
    monkeypatch.setenv("REVIEWER_LLM__API_KEY", FAKE_KEY)
    from reviewer.config import load_settings

    llm = LLM(load_settings().llm, chat_model=RecordingChatModel(), cache=None)
    described = ChatSession(library, llm=llm).describe_model()
    assert described["model"] == "fake-model" and described["endpoint"] == "http://127.0.0.1:8080/v1"
    text = repr(described)
    assert FAKE_KEY not in text and "secret" not in text and "abc" not in text
    assert ChatSession(library).describe_model()["engine"].startswith("extractive")


# -- export ------------------------------------------------------------------------------------------
def test_export_writes_the_transcript_and_a_bib_in_which_every_key_resolves(library, tmp_path):
    chat = ChatSession(library)
    chat.ask(ASK_QUESTION)
    chat.ask(FOLLOW_UP)
    md_path, bib_path = chat.export(tmp_path / "notes" / "chat")
    assert md_path == tmp_path / "notes" / "chat.md" and bib_path == tmp_path / "notes" / "chat.bib"
    md = md_path.read_text(encoding="utf-8")
    assert md.startswith("# Chat with the library") and "engine: extractive" in md
    assert f"## {ASK_QUESTION}" in md and f"## {FOLLOW_UP}\n\n*Searched as: {CARRIED}*" in md
    assert NO_LLM_NOTE not in md
    entries = {e.key: e for e in bibtexparser.parse_string(bib_path.read_text(encoding="utf-8")).entries}
    cited = citations.cited_keys(md)
    assert cited and set(cited) == set(entries) <= set(ASK_EVIDENCE)
    references = md.split("## References", 1)[1]
    for key in cited:
        assert f"- **[{key}]** " in references
        assert entries[key].fields_dict["title"].value.strip("{}") == library.get(key).title
    assert "- **[okafor2024pretraining]** Mara Okafor, Lin Zhou (2024). *Pretraining Mixtures Shape In-Context " \
           "Learning*." in references


def test_export_refuses_a_folder(library, tmp_path):
    with pytest.raises(InputError, match="is a folder"):
        ChatSession(library).export(tmp_path)


@pytest.mark.parametrize("where", ["file/chat.md", "/proc/nope/chat.md"])
def test_export_to_a_path_it_cannot_write_is_an_input_error_naming_it(library, tmp_path, where):
    if where.startswith("/proc") and not Path("/proc/self").exists():
        pytest.skip("no /proc here")
    (tmp_path / "file").write_text("a file, not a folder")
    path = tmp_path / where
    chat = ChatSession(library)
    chat.ask(ASK_QUESTION)
    with pytest.raises(InputError, match="cannot write") as raised:
        chat.export(path)
    assert str(path.parent) in str(raised.value) and "export to a folder you can write to" in str(raised.value)
    assert len(chat.turns) == 1  # nothing lost: it can be exported elsewhere
    assert chat.export(tmp_path / "chat.md")[0].exists()


@pytest.mark.parametrize("name", ["refs.bib", "refs.BIB"])
def test_export_to_a_bib_name_writes_the_transcript_beside_it_not_over_it(library, tmp_path, name):
    chat = ChatSession(library)
    chat.ask(ASK_QUESTION)
    md, bib = chat.export(tmp_path / name)
    assert (md, bib) == (tmp_path / "refs.md", tmp_path / "refs.bib")
    assert md.read_text(encoding="utf-8").startswith("# Chat with the library")
    assert bib.read_text(encoding="utf-8").startswith("@")


@pytest.mark.parametrize("pasted", ["okafor2024pretraining", " okafor2024pretraining ", "[okafor2024pretraining]",
                                    "[@okafor2024pretraining]", "@okafor2024pretraining", "**[okafor2024pretraining]**",
                                    "[okafor2024pretraining].", "okafor2024pretraining,", "(okafor2024pretraining)",
                                    "[okafor2024pretraining; raman2024demonstrations]"])
def test_show_takes_a_key_as_pasted_from_an_answer(library, pasted):
    assert ChatSession(library).show(pasted).key == "okafor2024pretraining"


def test_show_names_the_cleaned_key_it_did_not_find(library):
    from reviewer.errors import NotFoundError

    with pytest.raises(NotFoundError, match="no paper with key 'nosuchkey'"):
        ChatSession(library).show("[nosuchkey].")
    with pytest.raises(InputError, match="not a paper key"):
        ChatSession(library).show("[]")


def test_an_empty_transcript_exports_an_empty_bib(library, tmp_path):
    md, bib = ChatSession(library).export(tmp_path / "empty.md")
    assert "## References" not in md.read_text(encoding="utf-8") and bib.read_text(encoding="utf-8").strip() == ""


# -- compare and review pass-throughs ----------------------------------------------------------------
def _has(module: str) -> bool:
    return (Path(__file__).resolve().parents[1] / "src" / "reviewer" / "chains" / f"{module}.py").exists()


@pytest.mark.skipif(not _has("compare"), reason="the compare chain is not written yet")
def test_compare_is_added_to_the_transcript_with_its_citations(library, tmp_path):
    chat = ChatSession(library)
    comparison = chat.compare(["induction circuits", "demonstration labels"])
    turn = chat.turns[-1]
    assert turn.kind == "compare" and turn.prompt == "induction circuits | demonstration labels"
    assert turn.result is comparison and turn.papers == comparison.citations()
    md, bib = chat.export(tmp_path / "c.md")
    assert set(re.findall(r"^@\w+\{([^,]+),", bib.read_text(encoding="utf-8"), re.M)) == \
        {p.key for p in comparison.citations()}
    with pytest.raises(InputError, match="at least two"):
        chat.compare(["only one"])


@pytest.mark.skipif(not _has("review"), reason="the review chain is not written yet")
def test_review_is_added_to_the_transcript_and_written_where_asked(library, tmp_path):
    chat = ChatSession(library)
    draft = chat.review("in-context learning", directory=tmp_path / "draft", max_papers=10)
    turn = chat.turns[-1]
    assert turn.kind == "review" and turn.result is draft and turn.papers == draft.citations()
    assert {p.name for p in turn.files} >= {"review.md", "references.bib"}
    assert all(p.parent == tmp_path / "draft" and p.exists() for p in turn.files)
    assert f"files in `{tmp_path / 'draft'}`" in turn.text


def test_an_uncited_reply_allowed_is_exported_under_the_banner_with_its_claims_marked(library, tmp_path):
    from reviewer.grounding import UNCITED_BANNER

    uncited = "Pretraining data with rare tokens supports in-context learning in large models."
    llm, _ = fake_llm(library, tmp_path, uncited, uncited)
    strict, allowing = ChatSession(library, llm=llm), ChatSession(library, llm=llm, allow_uncited=True)
    rejected = strict.ask("How does pretraining data support in-context learning?")
    assert (rejected.status, rejected.exit_code) == ("rejected", 3) and not rejected.answered
    shown = allowing.ask("How does pretraining data support in-context learning?")
    assert (shown.status, shown.exit_code) == ("uncited", 4)
    assert shown.text == "Pretraining data with rare tokens supports in-context learning in large models (uncited)."
    md = allowing.to_markdown()
    assert f"> **{UNCITED_BANNER}**\n\n{shown.text}\n" in md
    assert shown.to_dict()["banner"] == UNCITED_BANNER and shown.to_dict()["status"] == "uncited"


def test_export_never_overwrites_an_earlier_export_unless_forced(library, tmp_path):
    chat = ChatSession(library)
    chat.ask("What do transformers learn in context?")
    first = chat.export(tmp_path / "chat.md")
    (tmp_path / "chat.md").write_text("my notes", encoding="utf-8")
    assert chat.export(tmp_path / "chat.md") == (tmp_path / "chat-2.md", tmp_path / "chat-2.bib")
    assert chat.export(tmp_path / "chat.bib") == (tmp_path / "chat-3.md", tmp_path / "chat-3.bib")
    assert (tmp_path / "chat.md").read_text(encoding="utf-8") == "my notes"
    assert chat.export(tmp_path / "chat.md", force=True) == first
    assert (tmp_path / "chat.md").read_text(encoding="utf-8") != "my notes"
