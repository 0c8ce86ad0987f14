"""Re-record the happy-path LLM cassettes (cassettes/recorded/) against the configured endpoint.

Usage (from the repository root; `make record` runs this script):

    # a local OpenAI-compatible server (llama.cpp, Ollama, vLLM, LM Studio...)
    REVIEWER_LLM__BASE_URL=http://127.0.0.1:8080/v1 REVIEWER_LLM__MODEL=smollm2 make record
    # OpenAI
    OPENAI_API_KEY=sk-... REVIEWER_LLM__MODEL=gpt-4o-mini make record

What it does:
1. checks that an endpoint is configured (REVIEWER_LLM__BASE_URL and/or OPENAI_API_KEY / REVIEWER_LLM__API_KEY);
2. runs the recording modules (RECORD: ask, compare, review) with --record-mode=rewrite: the real ChatOpenAI
   sends each chain's fixed scenario (hand-written papers in tests/fixtures/) to the endpoint, and vcrpy writes
   cassettes/recorded/<name>.yaml with the authorization header, api-key parameters, cookies and account
   headers filtered out;
3. replays every cassette test (record mode none) and the secret scan, so a bad recording fails here.

Only cassettes/recorded/ is rewritten; the hand-written cassettes/faults/ are never touched. Requests are sent
with temperature 0 and max_tokens 160. If you re-record with SmolLM2 and its reply changed, update RECORDED in
tests/test_cassettes_recorded.py (the other assertions follow the cassette by themselves). Review the diff of
cassettes/ before committing it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The modules that record (one per chain); each writes its cassettes/recorded/<name>.yaml files.
RECORD = ["tests/test_cassettes_recorded.py", "tests/test_compare_recorded.py", "tests/test_review_recorded.py",
          "tests/test_review_update_recorded.py"]
REPLAY = [*RECORD, "tests/test_ask_cli.py", "tests/test_cassettes_secrets.py"]


def main() -> int:
    sys.path.insert(0, str(REPO / "src"))
    from reviewer.config import LLMSettings
    from reviewer.llm import _where

    settings = LLMSettings()
    if not settings.configured:
        print("make record: no endpoint is configured. Set REVIEWER_LLM__BASE_URL (and REVIEWER_LLM__MODEL) for a "
              "local server, or OPENAI_API_KEY for OpenAI.", file=sys.stderr)
        return 2
    print(f"recording against {_where(settings)}, model {settings.model!r}", flush=True)
    pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    code = subprocess.call([*pytest, *RECORD, "--record-mode=rewrite"], cwd=REPO, env=os.environ)
    if code:
        print("recording failed: see above (cassettes/recorded/ may be incomplete; `git checkout cassettes/` "
              "restores them)", file=sys.stderr)
        return code
    code = subprocess.call([*pytest, *REPLAY, "--record-mode=none"], cwd=REPO, env=os.environ)
    if code:
        print("the new cassettes do not replay cleanly: see above", file=sys.stderr)
        return code
    names = ", ".join(sorted(p.name for p in (REPO / "cassettes" / "recorded").glob("*.yaml")))
    print(f"recorded cassettes/recorded/: {names} (review `git diff cassettes/`)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
