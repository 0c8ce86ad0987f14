"""How long `reviewer --help` takes (target <= 0.3 s), against a bare interpreter start in the same run,
and which heavy modules it imports (it must import none of them).

    .venv/bin/python benchmarks/cli_startup.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

HEAVY = ("chromadb", "onnxruntime", "openai", "langchain", "langchain_core", "langchain_openai", "tiktoken", "sklearn",
         "matplotlib", "prompt_toolkit", "numpy")
REVIEWER = str(Path(sys.executable).with_name("reviewer"))


def timed(cmd: list[str], runs: int = 15) -> tuple[float, float]:
    subprocess.run(cmd, capture_output=True, check=True)  # warm the file cache
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), max(times)


def main() -> None:
    bare, _ = timed([sys.executable, "-c", "pass"])
    median, worst = timed([REVIEWER, "--help"])
    trace = subprocess.run([sys.executable, "-X", "importtime", REVIEWER, "--help"], capture_output=True, text=True)
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in trace.stderr.splitlines() if "|" in line}
    heavy = sorted(m for m in HEAVY if m in imported)
    print(f"python -c pass:      median {bare * 1000:6.0f} ms")
    print(f"reviewer --help:     median {median * 1000:6.0f} ms, worst {worst * 1000:.0f} ms  (target <= 300 ms)")
    print(f"heavy modules imported by --help: {', '.join(heavy) or 'none'}")
    if heavy:
        sys.exit(1)


if __name__ == "__main__":
    main()
