"""Red-team run: `reviewer ask` against a fake OpenAI-compatible server (loopback) that returns adversarial replies.

Prints each case (tests/redteam.py: foreign citation forms, bare and example keys, uncited answers, invented
authors, PWNED, a system-prompt dump, echoed tags, a 200k-character reply, a trickling server, an injected
abstract, an abstention), what stdout and the exit status were, and how many outcomes presented ungrounded text
as an answer (the target is 0). Exits 1 if any did, or if a case's output differs from the exact one expected.

    .venv/bin/python benchmarks/redteam.py            # about a minute: it builds two six-paper libraries
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO / "tests")]


def main() -> int:
    from redteam import CASES, PAPERS, TITLES, poisoned_papers, run_case, ungrounded
    from reviewer.config import Settings
    from reviewer.library import Library
    from reviewer.text import excerpt

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        dbs = {}
        for poisoned, name in ((False, "clean"), (True, "poisoned")):
            settings = Settings(db=root / name, llm={"base_url": None, "api_key": None})
            source = poisoned_papers(root) if poisoned else PAPERS
            Library.open(settings=settings).ingest([source])
            dbs[poisoned] = root / name
        bad, differs = 0, 0
        print(f"{'case':<26} {'exit':>4} {'s':>5}  outcome")
        for case in CASES:
            outcome = run_case(case, dbs[case.poisoned], root / "cache")
            problems = ungrounded(outcome, TITLES)
            bad += bool(problems)
            same = outcome.stdout == case.stdout and outcome.exit_code == case.exit_code
            differs += not same
            shown = outcome.stdout.strip().splitlines()[0] if outcome.stdout.strip() else \
                "(nothing on stdout) " + excerpt(outcome.stderr.strip().splitlines()[-1] if outcome.stderr.strip()
                                                 else "", 90)
            verdict = "UNGROUNDED: " + "; ".join(problems) if problems else ("as expected" if same else "DIFFERS")
            print(f"{case.name:<26} {outcome.exit_code:>4} {outcome.seconds:>5.1f}  {verdict}: {excerpt(shown, 100)}")
            print(f"{'':<38}{case.what}")
        print(f"\n{len(CASES)} cases; ungrounded outputs presented as answers: {bad}; outputs differing from the "
              f"expected: {differs}")
    return 1 if bad or differs else 0


if __name__ == "__main__":
    sys.exit(main())
