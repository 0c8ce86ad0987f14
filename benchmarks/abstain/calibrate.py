"""How the evidence gate's answer threshold was chosen, and how it holds on questions it was not chosen on.

Reads the JSON that `reviewer eval abstain QUESTIONS --json FILE` writes (each question's best sentence
similarity) and, for thresholds 0.40 .. 0.59, the answer/refusal rate of each group. The chosen threshold is the
one whose worst margin above the goals (answerable answered >= 95%, off-topic refused >= 95%, near-miss refused
>= 80%) is largest (ties: the lower). It is then chosen the same way on half of the questions (alternate ids) and
measured on the other half, both ways round.

    reviewer eval abstain benchmarks/abstain/questions.jsonl --json abstain.json
    .venv/bin/python benchmarks/abstain/calibrate.py abstain.json
"""

from __future__ import annotations

import json
import sys

GOALS = {"answerable": 0.95, "off-topic": 0.95, "near-miss": 0.80}
THRESHOLDS = [round(0.40 + i / 100, 2) for i in range(20)]


def rates(outcomes: list[dict], threshold: float) -> dict[str, float]:
    out = {}
    for group in GOALS:
        mine = [o for o in outcomes if o["group"] == group]
        answered = sum(o["best_sentence"] >= threshold for o in mine)
        out[group] = (answered if group == "answerable" else len(mine) - answered) / len(mine)
    return out


def choose(outcomes: list[dict]) -> float:
    def margin(t):
        r = rates(outcomes, t)
        return min(r[g] - GOALS[g] for g in GOALS), -t

    return max(THRESHOLDS, key=margin)


def show(r: dict[str, float]) -> str:
    return " / ".join(f"{g} {r[g]:.0%}" for g in GOALS)


def main() -> None:
    outcomes = sorted(json.load(open(sys.argv[1], encoding="utf-8"))["outcomes"], key=lambda o: o["id"])
    best = choose(outcomes)
    print(f"all {len(outcomes)} questions: threshold {best:.2f}: {show(rates(outcomes, best))}")
    halves = outcomes[0::2], outcomes[1::2]
    for name, (train, test) in (("even ids -> odd ids", halves), ("odd ids -> even ids", halves[::-1])):
        t = choose(train)
        print(f"{name}: threshold {t:.2f}; held out: {show(rates(test, t))}")


if __name__ == "__main__":
    main()
