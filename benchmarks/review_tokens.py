"""Prompt tokens of `review`'s map-reduce draft versus one prompt stuffed with every retrieved abstract.

No model is called. On the sample corpus with a fixed topic, the papers are retrieved and clustered exactly as
`review` does, and the prompts the LLM engine sends are built with the real templates: the outline (titles and
terms), one section prompt per theme (that theme's abstracts, packed into REVIEWER_LLM__EVIDENCE_TOKENS), the
support check of each section (the sentences and the abstracts they cite), and the introduction (outline and
section summaries). The model's replies, which later prompts contain, are stood in for by the extractive
engine's sections (quoted sentences with their [key]s). The baseline is the same section prompt with every
retrieved abstract at once. Tokens are counted with tiktoken (chat-message overhead included), for the
configured model's encoding (gpt-4o-mini: o200k_base).

    .venv/bin/python benchmarks/review_tokens.py [--db DIR] [--topic TEXT] [--max-papers 30,60,120] [--themes K]

Without --db, the sample corpus (../shared/seeds) is ingested into a temporary library first (about 30 s).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO.parent / "shared" / "seeds"
TOPIC = "in-context learning in large language models"


def measure(library, topic: str, max_papers: int, themes: int | None) -> dict:
    """{step: [prompt tokens of each call]} of the map-reduce draft, and the stuffed prompt's tokens."""
    from reviewer import support
    from reviewer.chains import review as chain
    from reviewer.evidence import Evidence, pack_shared
    from reviewer.tokens import count_message_tokens

    model = library.settings.llm.model
    draft = library.review(topic, max_papers=max_papers, themes=themes, llm=None)  # extractive stand-in
    relevance = library.similarity(topic, list(draft.papers))

    def tokens(messages) -> int:
        return count_message_tokens(messages, model)

    steps: dict[str, list[int]] = {"outline": [tokens(chain.outline_messages(topic, draft.themes, draft.papers))]}
    steps["sections (map)"] = []
    dropped = shortened = 0
    for theme in draft.themes:
        packed = pack_shared([Evidence.of(draft.papers[k], relevance[k]) for k in theme.keys],
                             library.settings.llm.evidence_tokens, model)
        dropped += len(packed.dropped)
        shortened += len(packed.truncated)
        steps["sections (map)"].append(tokens(chain.section_messages(topic, theme, packed.text())))
    steps["support check"] = [tokens(support.check_messages([s for s in section.sentences() if s.keys], draft.papers))
                              for section in draft.sections]
    steps["introduction (reduce)"] = [tokens(chain.introduction_messages(topic, draft.sections))]

    everything = [Evidence.of(p, relevance[k]) for k, p in draft.papers.items()]
    stuffed_theme = chain.Theme(0, topic, [], list(draft.papers), "every theme")
    stuffed = tokens(chain.section_messages(topic, stuffed_theme, "\n\n".join(e.render() for e in everything)))
    return {"steps": steps, "stuffed": stuffed, "papers": len(draft.papers), "themes": len(draft.themes),
            "model": model, "budget": library.settings.llm.evidence_tokens, "dropped": dropped,
            "shortened": shortened}


def report(result: dict, topic: str) -> str:
    steps, stuffed = result["steps"], result["stuffed"]
    calls = [t for ts in steps.values() for t in ts]
    lines = [f"topic: {topic!r}: {result['papers']} papers in {result['themes']} themes; tokens counted for "
             f"{result['model']} (tiktoken); evidence budget per prompt {result['budget']}",
             "", f"{'step':24} {'calls':>5} {'prompt tokens':>14} {'largest prompt':>15}"]
    for step, values in steps.items():
        lines.append(f"{step:24} {len(values):5d} {sum(values):14,d} {max(values):15,d}")
    lines += [f"{'map-reduce draft':24} {len(calls):5d} {sum(calls):14,d} {max(calls):15,d}",
              f"{'one stuffed prompt':24} {1:5d} {stuffed:14,d} {stuffed:15,d}",
              "",
              f"largest map-reduce prompt / stuffed prompt: {max(calls) / stuffed:.2f}",
              f"map-reduce total / stuffed prompt:          {sum(calls) / stuffed:.2f}  (the support check re-sends "
              "the cited abstracts; rewrites, when needed, add up to 2 calls per section)",
              f"abstracts shortened to share a section's evidence budget: {result['shortened']} of "
              f"{result['papers']}; papers left out: {result['dropped']} (the stuffed prompt shows every abstract "
              f"whole, at {stuffed / result['budget']:.1f}x the budget)"]
    return "\n".join(lines)


def summary(results: list[dict]) -> str:
    """One line per library size: the map-reduce prompts stay bounded while the stuffed prompt grows."""
    lines = [f"{'papers':>6} {'themes':>6} {'calls':>5} {'map-reduce total':>16} {'largest prompt':>14} "
             f"{'stuffed prompt':>14} {'largest/stuffed':>15}"]
    for r in results:
        calls = [t for ts in r["steps"].values() for t in ts]
        lines.append(f"{r['papers']:6d} {r['themes']:6d} {len(calls):5d} {sum(calls):16,d} {max(calls):14,d} "
                     f"{r['stuffed']:14,d} {max(calls) / r['stuffed']:15.2f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", type=Path, help="an existing library of the sample corpus (default: build one)")
    parser.add_argument("--topic", default=TOPIC)
    parser.add_argument("--max-papers", default="30,60,120",
                        help="comma-separated sizes; the first is shown step by step (default 30,60,120)")
    parser.add_argument("--themes", type=int, default=None)
    args = parser.parse_args()

    from reviewer.config import Settings
    from reviewer.library import Library

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(db=args.db or Path(tmp) / "db")
        library = Library.open(settings=settings)
        if not len(library):
            print(f"ingesting {SEEDS} into a temporary library ...", flush=True)
            library.ingest([SEEDS])
        results = [measure(library, args.topic, int(n), args.themes) for n in args.max_papers.split(",")]
        print(report(results[0], args.topic))
        if len(results) > 1:
            print("\nas the review grows (--max-papers):\n" + summary(results))


if __name__ == "__main__":
    main()
