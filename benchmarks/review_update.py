"""Model tokens and seconds of `review --update` versus a fresh `review`, on the sample corpus: three weekly pages,
a draft, then the fourth page.

No model is needed: the LLM engine runs end to end against a stand-in chat model that answers every prompt with
a short well-formed reply (an outline naming each theme, one cited sentence per paper shown, every sentence
supported, a one-line introduction) and reports no usage, so that the chain counts each prompt and reply with
tiktoken (the configured model's encoding) exactly as it does for a server that reports none. Both runs send the
real prompts; only the replies are stand-ins, so the figures are the chain's own token use for this corpus, not a
particular model's. Seconds are the pipeline's (retrieval, clustering, prompt building, checks, files), without
generation time.

    .venv/bin/python benchmarks/review_update.py [--topic TEXT ...] [--max-papers N] [--themes K]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO.parent / "shared" / "seeds"
# Of the papers the evidence gate admits among the 30 most relevant on all four pages, the fourth page holds
# 1 for the first topic, 5 for the second, 23 for the third.
TOPICS = ("LLM agents for computer control", "world models for robot manipulation",
          "in-context learning in large language models")


class StandInModel(BaseChatModel):
    """Short, valid replies to the review chain's prompts (see the module's docstring); no usage reported."""

    @property
    def _llm_type(self) -> str:
        return "stand-in"

    def bind_tools(self, tools, *, tool_choice=None, **kwargs):
        from langchain_core.utils.function_calling import convert_to_openai_tool

        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], tool_choice=tool_choice)

    def _generate(self, messages, stop=None, run_manager=None, tools=None, **kwargs) -> ChatResult:
        prompt = messages[-1].content
        if tools:
            name = tools[0]["function"]["name"]
            args = reply_to(name, prompt)
            message = AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": "call", "type": "tool_call"}])
        else:
            message = AIMessage(content=reply_to(None, prompt))
        message.response_metadata = {"finish_reason": "stop"}
        return ChatResult(generations=[ChatGeneration(message=message)])


def reply_to(tool: str | None, prompt: str):
    if tool == "Outline":
        themes = re.findall(r"^Theme (\d+) \(.*?Distinctive terms: ([^,.\n]*)", prompt, re.M)
        return {"themes": [{"id": int(i), "name": term.capitalize() or f"Theme {i}",
                            "summary": "What these papers share."} for i, term in themes]}
    if tool == "Verdicts":
        return {"verdicts": [{"n": int(n), "supported": True, "reason": ""}
                             for n in re.findall(r"^(\d+)\. ", prompt, re.M)]}
    if tool == "Rewrites":
        return {"rewrites": []}
    keys = list(dict.fromkeys(re.findall(r"^\[([a-z0-9_:\-]+)\]", prompt, re.M)))
    if keys:  # a section prompt: one cited sentence per paper shown
        return " ".join(f"This work studies the topic of the section [{k}]." for k in keys)
    return "This review covers the topic."


def run(library, directory: Path, topic: str, max_papers: int, themes: int | None,
        action: str) -> tuple[dict, float]:
    """({usage, draft, changes}, seconds) of a fresh review written to ``directory`` or of an update of it."""
    from reviewer import living
    from reviewer.llm import LLM

    llm = LLM(library.settings.llm, chat_model=StandInModel())
    start = time.perf_counter()
    if action == "fresh":
        draft = library.review(topic, max_papers=max_papers, themes=themes, llm=llm, use_cache=False)
        draft.write(directory, citeproc=True)
        usage, changes = draft.usage, None
    else:
        draft, changes = living.update_directory(library, directory, llm=llm, use_cache=False)
        usage = changes.usage
    return {"usage": usage, "draft": draft, "changes": changes}, time.perf_counter() - start


def tokens(usage) -> int:
    return usage.input_tokens + usage.output_tokens


def report(topic: str, max_papers: int, first, update, fresh, model: str) -> dict:
    rows = [("fresh run, 3 pages", *first), ("--update, + page 4", *update), ("fresh run, 4 pages", *fresh)]
    print(f"\ntopic {topic!r}, --max-papers {max_papers}; tokens counted with tiktoken for {model}\n")
    print(f"{'run':22} {'calls':>5} {'model tokens':>12} {'seconds':>8}")
    for name, result, seconds in rows:
        print(f"{name:22} {result['usage'].calls:5d} {tokens(result['usage']):12,d} {seconds:8.1f}")
    changes = update[0]["changes"]
    print("\n" + "\n".join(changes.lines()))
    share = tokens(changes.usage) / max(1, tokens(fresh[0]["usage"]))
    sections = len(update[0]["draft"].sections)
    print(f"\n--update / fresh run: {share:.0%} of the model tokens, {update[1] / fresh[1]:.0%} of the seconds; "
          f"{len(changes.rewritten)} of {sections} section(s) written again (target when one theme changes: <= 40% "
          "of the tokens)")
    return {"topic": topic, "update_tokens": tokens(changes.usage), "fresh_tokens": tokens(fresh[0]["usage"]),
            "share": round(share, 3), "sections_rewritten": len(changes.rewritten), "sections": sections,
            "papers_added": len(changes.added), "new_themes": len(changes.new_themes),
            "update_seconds": round(update[1], 1), "fresh_seconds": round(fresh[1], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--topic", action="append", help=f"repeatable (default: {TOPICS})")
    parser.add_argument("--max-papers", type=int, default=30)
    parser.add_argument("--themes", type=int, default=None, help="themes of the drafts (default: by silhouette)")
    args = parser.parse_args()
    topics = args.topic or list(TOPICS)
    pages = sorted(SEEDS.glob("*.txt"))
    if len(pages) < 4:
        sys.exit(f"the sample corpus is not at {SEEDS} (four weekly pages expected)")

    from reviewer.config import Settings
    from reviewer.library import Library

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        library = Library.open(settings=Settings(db=tmp / "db", cache_dir=tmp / "cache"))
        print(f"ingesting {len(pages) - 1} weekly pages ...", flush=True)
        library.ingest(pages[:-1])
        firsts = [run(library, tmp / f"review-{i}", t, args.max_papers, args.themes, "fresh") for i, t in enumerate(topics)]
        print(f"ingesting the fourth page ({pages[-1].name}) ...", flush=True)
        library.ingest(pages[-1:])
        for i, topic in enumerate(topics):
            update = run(library, tmp / f"review-{i}", topic, args.max_papers, args.themes, "update")
            fresh = run(library, tmp / f"fresh-{i}", topic, args.max_papers, args.themes, "fresh")
            results.append(report(topic, args.max_papers, firsts[i], update, fresh, library.settings.llm.model))
    print("\n" + json.dumps(results))


if __name__ == "__main__":
    main()
