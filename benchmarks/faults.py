"""The fault suite: hostile inputs, CLI misuse, damaged data directories, Chroma-server faults, concurrent
writers and the LLM endpoint faults the tests replay. Every case is built in a temporary folder; one table is
printed (case, expectation, outcome) with totals: cases tried, handled cleanly, tracebacks, valid papers lost,
duplicates after re-ingest, and the slowest clear error.

    make faults            (or: .venv/bin/python benchmarks/faults.py [--only WORD])

Input cases run in this process through ``reviewer.Library`` (what ``reviewer ingest`` calls), each beside
valid control records that must all be stored, then re-ingested to check nothing is duplicated. CLI,
settings, damage and server cases run the real console script. Exit status 1 if any case is not handled.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from test_derived_damage import DAMAGE  # noqa: E402  (the same damage as the fast tests)
REVIEWER = Path(sys.executable).with_name("reviewer")
CHROMA = Path(sys.executable).with_name("chroma")


@dataclass
class Outcome:
    handled: bool
    detail: str = ""
    traceback: bool = False
    lost: int = 0
    duplicates: int = 0
    seconds: float | None = None  # time to a clear error, for cases that end in one


@dataclass
class Case:
    group: str
    name: str
    expectation: str
    run: Callable[[Path], Outcome]
    outcome: Outcome | None = field(default=None)


CASES: list[Case] = []


def case(group: str, name: str, expectation: str):
    def register(fn):
        CASES.append(Case(group, name, expectation, fn))
        return fn
    return register


# --- helpers ---------------------------------------------------------------------------------------

def env(**extra) -> dict:
    base = {k: v for k, v in os.environ.items() if not k.startswith("REVIEWER_") or k == "REVIEWER_CACHE_DIR"}
    base["ANONYMIZED_TELEMETRY"] = "False"
    return {**base, **{k: str(v) for k, v in extra.items()}}


def cli(*args, timeout: float = 120, **extra) -> tuple[subprocess.CompletedProcess, float]:
    started = time.perf_counter()
    try:
        done = subprocess.run([str(REVIEWER), *map(str, args)], capture_output=True, text=True, timeout=timeout,
                              env=env(**extra))
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(args, -9, "", f"timed out after {timeout} s"), timeout
    return done, time.perf_counter() - started


def expect_cli(done_elapsed, codes: tuple[int, ...], needle: str, *, error: bool = True) -> Outcome:
    done, elapsed = done_elapsed
    text = done.stdout + done.stderr
    tb = "Traceback (most recent call last)" in text
    ok = done.returncode in codes and needle in " ".join(text.split()) and not tb
    first = next((line for line in done.stderr.splitlines() if line.strip().startswith(("error", "Error"))),
                 (done.stderr or done.stdout).strip().splitlines()[0] if (done.stderr or done.stdout).strip() else "")
    return Outcome(ok, f"exit {done.returncode}: {first.strip()[:90]}", traceback=tb,
                   seconds=elapsed if error else None)


_EMBEDDER = None


def embedder():
    global _EMBEDDER
    if _EMBEDDER is None:
        from reviewer.index.embedder import LocalMiniLMEmbedder

        _EMBEDDER = LocalMiniLMEmbedder()
    return _EMBEDDER


def library(db: Path, create: bool = True):
    from reviewer.config import Settings
    from reviewer.library import Library

    lib = Library.open(settings=Settings(db=db), embedder=embedder(), create=create)
    lib.notify = lambda message: None
    return lib


CONTROL_ABSTRACT = "A valid control record about {topic}; it must be stored whatever else is in the folder."


def controls(folder: Path, tag: str, n: int = 2) -> list[str]:
    titles = [f"Control {tag} record {i} on retrieval robustness" for i in range(n)]
    lines = [json.dumps({"title": t, "abstract": CONTROL_ABSTRACT.format(topic=t)}) for t in titles]
    (folder / "control.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return titles


def ingest_case(tmp: Path, build: Callable[[Path], list[str] | None], *, must_store: int = 0,
                must_skip: str | None = None) -> Outcome:
    """Build the case's folder (``build`` returns extra titles that must be stored), ingest it twice; count
    lost control papers and duplicates; ``must_skip``: a reason the report must name."""
    from reviewer.errors import ReviewerError

    folder = tmp / "in"
    folder.mkdir()
    expected = controls(folder, tmp.name) + list(build(folder) or [])
    try:
        lib = library(tmp / "db")
        report = lib.ingest([folder])
        stored = {p.title for p in lib.papers()}
        size = len(lib)
        again = lib.ingest([folder])
    except ReviewerError as exc:
        return Outcome(False, f"error: {exc}"[:100])
    except BaseException as exc:  # noqa: BLE001 - a traceback is what this suite counts
        return Outcome(False, f"{type(exc).__name__}: {exc}"[:100], traceback=True, lost=len(expected))
    lost = sum(1 for t in expected if t not in stored)
    duplicates = len(lib) - size + len(again.new)
    reasons = sorted({s.reason for s in report.skipped})
    named = must_skip is None or any(must_skip in str(s) for s in report.skipped) or \
        any(must_skip in w for w in report.warnings)
    ok = lost == 0 and duplicates == 0 and named and len(report.new) >= len(expected) + must_store
    detail = f"stored {len(report.new)}, skipped {len(report.skipped)}" + (f" ({', '.join(reasons)})" if reasons else "")
    detail += f", warnings {len(report.warnings)}, re-ingest new {len(again.new)}"
    return Outcome(ok, detail, lost=lost, duplicates=duplicates)


def write(path: Path, data: str | bytes) -> None:
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))


def jsonl(*records) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in records)


def rec(title: str, abstract: str = "An abstract of a perfectly ordinary paper.") -> dict:
    return {"title": title, "abstract": abstract}


# --- 1. bad input files (each beside valid control records) -----------------------------------------

INPUTS: list[tuple[str, str, Callable[[Path], list[str] | None], str | None]] = []


def bad_input(name: str, expectation: str, must_skip: str | None = None):
    def register(build):
        INPUTS.append((name, expectation, build, must_skip))
        return build
    return register


# Cases that are one file: (name, expectation, reason the report must name, file, content, titles to store).
ONE_FILE = [
    ('empty file', 'reported', 'empty file', 'empty.bib', "", []),
    ('whitespace-only file', 'reported', 'empty file', 'blank.csv', "\n   \n\t\n", []),
    ('UTF-8 BOM before JSON Lines', 'read', None, 'bom.jsonl', "\ufeff" + jsonl(rec("After a BOM")), ["After a BOM"]),
    ('CSV without a title column', 'reported', 'no title column', 'n.csv', "name,value\na,b\n", []),
    ('5,000-character title', 'record skipped: title too long', 'title too long', 't.jsonl', jsonl(rec("T" * 5000)), []),
    ('list as a JSON title', 'record rejected with its line', 'field not text', 'l.jsonl', jsonl({"title": ["A", "B"], "abstract": "x"}), []),
    ('object as a JSON abstract', 'record rejected with its line', 'field not text', 'o.jsonl', jsonl({"title": "Object abstract", "abstract": {"t": 1}}), []),
    ('BibTeX # concatenation', 'expanded', None, 'c.bib', '@article{a, title = "Concatenated" # " Title " # {Here}, abstract = {x}}\n', ["Concatenated Title Here"]),
    ('BibTeX @string macro', 'expanded', None, 's.bib', '@string{w = "Macro"}\n@article{a, title = w # " Expanded Title", abstract = {x}}\n', ["Macro Expanded Title"]),
]
for _name, _expectation, _skip, _file, _content, _titles in ONE_FILE:
    bad_input(_name, _expectation, _skip)(
        lambda d, f=_file, c=_content, t=_titles: (write(d / f, c), t)[1])


@bad_input("symlink folder loop", "loop reported, controls stored", "link loop")
def _(d):
    (d / "sub").mkdir()
    (d / "sub" / "up").symlink_to(d, target_is_directory=True)


@bad_input("file linked to itself", "reported, controls stored", "link loop")
def _(d):
    (d / "self.bib").symlink_to(d / "self.bib")


@bad_input("dangling link", "reported, controls stored", "dangling link")
def _(d):
    (d / "gone.ris").symlink_to(d / "nowhere.ris")


@bad_input("JSONL line nested 100,000 deep", "line skipped, rest read", "nested too deeply")
def _(d):
    write(d / "deep.jsonl", jsonl("[" * 100_000 + "]" * 100_000, rec("After the deep line")))
    return ["After the deep line"]


@bad_input("deep nesting in a file sniffed by content", "record skipped, rest read", "malformed JSON")
def _(d):
    write(d / "deep.dat", jsonl("[" * 100_000 + "]" * 100_000, rec("After deep sniffed")))
    return ["After deep sniffed"]


@bad_input("lone surrogate in a JSON title", "replaced with U+FFFD, warned", "lone surrogate")
def _(d):
    write(d / "s.jsonl", '{"title": "Surrogate \\ud83d title", "abstract": "Text."}\n')
    return ["Surrogate \ufffd title"]


@bad_input("BibTeX title with 3,000 nested braces", "entry skipped, rest read", "nested too deeply")
def _(d):
    braces = "{" * 3000 + "\\emph{x}" + "}" * 3000
    write(d / "deep.bib", f"@article{{a, title = {{{braces}}}, abstract = {{x}}}}\n"
                          "@article{b, title = {Bib after the deep one}, abstract = {Fine.}}\n")
    return ["Bib after the deep one"]


@bad_input("JSON array saved as .jsonl", "read as an array, warned", "JSON array")
def _(d):
    write(d / "arr.jsonl", json.dumps([rec("Array one"), rec("Array two")], indent=1))
    return ["Array one", "Array two"]


@bad_input("bad object in the middle of a .json array", "object skipped, later ones read", "malformed JSON")
def _(d):
    write(d / "a.json", "[\n" + json.dumps(rec("Before bad")) + ',\n{"title": "Bad", "abstract": },\n'
          + json.dumps(rec("After bad")) + "\n]\n")
    return ["Before bad", "After bad"]


@bad_input("unclosed CSV quote", "reported at its line, later rows read", "never closed")
def _(d):
    write(d / "q.csv", 'title,abstract\nRow before,one\n"Unclosed row,two\nRow after,three\n')
    return ["Row before", "Row after"]


@bad_input("one NUL byte in one JSONL record", "byte removed, warned, file read", "NUL byte")
def _(d):
    write(d / "n.jsonl", jsonl(rec("Nul record")).encode().replace(b"Nul ", b"Nul\x00 ") + jsonl(rec("Next")).encode())
    return ["Nul record", "Next"]


@bad_input("5 MB CSV field", "truncated with a warning, row kept", "truncated")
def _(d):
    write(d / "big.csv", "title,abstract\nHuge csv field," + "word " * 1_000_000 + "\n")
    return ["Huge csv field"]


@bad_input("5 MB JSONL field", "truncated with a warning, record kept", "truncated")
def _(d):
    write(d / "big.jsonl", jsonl(rec("Huge jsonl field", "word " * 1_000_000)))
    return ["Huge jsonl field"]


@bad_input("hidden file in a folder", "reported as hidden (counts for --strict)", "hidden file")
def _(d):
    write(d / ".hidden.jsonl", jsonl(rec("Hidden one")))


@bad_input("one latin-1 line in a UTF-8 file", "that line decoded alone, others stay UTF-8", "not valid UTF-8")
def _(d):
    write(d / "m.csv", "title,abstract\nUTF-8 Café line,naïve\n".encode() + "Latin Café line,résumé\n".encode("latin-1"))
    return ["UTF-8 Café line", "Latin Café line"]


@bad_input("number as a JSON title", "read as text", None)
def _(d):
    write(d / "n.jsonl", jsonl({"title": 1984, "abstract": "A paper whose title is a year."}))
    return ["1984"]


def _script_titles(titles):
    def build(d):
        write(d / "s.jsonl", jsonl(*[rec(t, f"Abstract of {t}.") for t in titles]))
        return titles
    return build


bad_input("CJK titles re-ingested", "no duplicates")(_script_titles(["深度学习中的注意力机制", "知识图谱", "大型语言模型"]))
bad_input("Arabic titles re-ingested", "no duplicates")(_script_titles(["التعلم العميق", "معالجة اللغة الطبيعية"]))
bad_input("Cyrillic titles re-ingested", "no duplicates")(_script_titles(["Глубокое обучение", "Обработка языка"]))
bad_input("Greek titles re-ingested", "no duplicates")(_script_titles(["Βαθιά μάθηση", "Επεξεργασία γλώσσας"]))


@bad_input("ESC/OSC sequences in a title", "stripped before storing", None)
def _(d):
    write(d / "e.jsonl", jsonl(rec("Escaped \x1b[31mred\x1b[0m \x1b]0;owned\x07title", "Bell\x07 text")))
    return ["Escaped red title"]


@bad_input("binary file", "reported as binary", "binary file")
def _(d):
    write(d / "blob.jsonl", bytes(range(256)) * 20)


@bad_input("UTF-16 CSV with a byte-order mark", "decoded", None)
def _(d):
    write(d / "w.csv", "title,abstract\nWide text title,Body\n".encode("utf-16"))
    return ["Wide text title"]


@bad_input("UTF-16 without a byte-order mark", "reported as binary", "binary file")
def _(d):
    write(d / "w.csv", "title,abstract\nNo BOM,Body\n".encode("utf-16-le"))


@bad_input("named pipe (FIFO)", "reported, never blocks", "not a regular file")
def _(d):
    os.mkfifo(d / "pipe.jsonl")


@bad_input("folder named like a file (x.bib/)", "walked as a folder", None)
def _(d):
    (d / "x.bib").mkdir()
    write(d / "x.bib" / "in.jsonl", jsonl(rec("Inside a folder named x.bib")))
    return ["Inside a folder named x.bib"]


@bad_input("XXE in an arXiv Atom feed", "refused, controls stored", "malformed XML")
def _(d):
    write(d / "x.xml", '<?xml version="1.0"?><!DOCTYPE f [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                       '<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>&x;</title>'
                       '<summary>s</summary></entry></feed>')


@bad_input("billion laughs in an Atom feed", "refused quickly", "malformed XML")
def _(d):
    ents = '<!ENTITY a "lol">' + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
    write(d / "b.xml", f'<?xml version="1.0"?><!DOCTYPE f [{ents}]><feed xmlns="http://www.w3.org/2005/Atom">'
                       '<entry><title>&j;</title><summary>s</summary></entry></feed>')


@bad_input("RIS record without ER", "read to the end of the file", None)
def _(d):
    write(d / "r.ris", "TY  - JOUR\nTI  - RIS without end\nAB  - An abstract.\n")
    return ["RIS without end"]


@bad_input("duplicate BibTeX keys", "both read, warned", "used twice")
def _(d):
    write(d / "dup.bib", "@article{k, title = {First with key}, abstract = {a}}\n"
                         "@article{k, title = {Second with key}, abstract = {b}}\n")
    return ["First with key", "Second with key"]


@bad_input("CRLF line ends in RIS", "line numbers kept, read", None)
def _(d):
    write(d / "w.ris", b"TY  - JOUR\r\nTI  - Windows line ends\r\nAB  - B\r\nER  - \r\n")
    return ["Windows line ends"]


@bad_input("1 MB line of prose in a .txt", "unknown format, reported", None)
def _(d):
    write(d / "prose.txt", "lorem ipsum " * 90_000)


@bad_input("control characters in a CSV abstract", "stripped", None)
def _(d):
    write(d / "c.csv", "title,abstract\nControl chars abstract,Text\x08\x1b[2J with\x0c codes\n")
    return ["Control chars abstract"]


def _register_inputs() -> None:
    for name, expectation, build, must_skip in INPUTS:
        case("input", name, expectation)(
            lambda tmp, build=build, must_skip=must_skip: ingest_case(tmp, build, must_skip=must_skip))


_register_inputs()


# --- 2. CLI usage and settings ----------------------------------------------------------------------

for args, needle, codes in [
    (["--version"], "reviewer 0.1.0", (0,)),
    (["-h"], "Usage: reviewer [OPTIONS] COMMAND", (0,)),
    (["search", "-h"], "Usage: reviewer search", (0,)),
    (["search"], "Missing argument 'query'", (2,)),
    (["search", "x", "-k", "abc"], "Invalid value for '-k'", (2,)),
    (["--bogus"], "No such option: --bogus", (2,)),
    (["frobnicate"], "No such command 'frobnicate'", (2,)),
    (["ingest"], "Missing argument 'paths'", (2,)),
    (["search", "x", "--mode"], "Option '--mode' requires an argument", (2,)),
]:
    case("cli", "reviewer " + " ".join(args), f"exit {codes[0]}, no traceback")(
        lambda tmp, args=args, needle=needle, codes=codes: expect_cli(cli(*args, REVIEWER_DB=tmp / "db"), codes, needle,
                                                                     error=codes != (0,)))

for name, value, needle in [
    ("REVIEWER_RETRIEVAL__MODE", "fuzzy", "REVIEWER_RETRIEVAL__MODE='fuzzy' is not valid: allowed: 'bm25', 'cosine', 'dense', 'rrf' or 'hybrid'"),
    ("REVIEWER_EMBEDDING__BATCH_SIZE", "abc", "REVIEWER_EMBEDDING__BATCH_SIZE='abc' is not valid"),
    ("REVIEWER_EMBEDDING__PROVIDER", "magic", "REVIEWER_EMBEDDING__PROVIDER='magic' is not valid: allowed: 'local' or 'openai'"),
    ("REVIEWER_LLM__TEMPERATURE", "9", "REVIEWER_LLM__TEMPERATURE='9' is not valid"),
    ("REVIEWER_LLM__MAX_TOKENS", "-5", "REVIEWER_LLM__MAX_TOKENS='-5' is not valid"),
    ("REVIEWER_LLM__PRICES", "cheap", 'error parsing value for field "prices"'),
    ("REVIEWER_COLLECTION", "ab", "REVIEWER_COLLECTION='ab' is not valid"),
    ("REVIEWER_COLLECTION", "bad name!", "REVIEWER_COLLECTION='bad name!' is not valid"),
    ("REVIEWER_CHROMA_CONNECT_TIMEOUT", "0", "REVIEWER_CHROMA_CONNECT_TIMEOUT='0' is not valid"),
    ("REVIEWER_RETRIEVAL__DEPTH", "0", "REVIEWER_RETRIEVAL__DEPTH='0' is not valid"),
]:
    case("settings", f"{name}={value}", "exit 2, names variable, value, allowed")(
        lambda tmp, name=name, value=value, needle=needle: expect_cli(
            cli("stats", REVIEWER_DB=tmp / "db", **{name: value}), (2,), needle))

case("settings", "REVIEWER_CHROMA_URL=not-a-url", "clear error naming the variable")(
    lambda tmp: expect_cli(cli("stats", REVIEWER_DB=tmp / "db", REVIEWER_CHROMA_URL="not-a-url"), (2,),
                           "REVIEWER_CHROMA_URL='not-a-url' is not a URL"))
case("datadir", "--db /dev/null", "clear error, exit 1")(
    lambda tmp: expect_cli(cli("search", "x", "--db", "/dev/null"), (1,), "is a file, not a folder"))


def _db_is_a_file(tmp):
    write(tmp / "f", "x")
    return expect_cli(cli("ingest", tmp / "f", "--db", tmp / "f"), (1,), "is a file, not a folder")


case("datadir", "--db that is a file (ingest)", "clear error, exit 1")(_db_is_a_file)

for command in (["search", "x"], ["papers"], ["stats"], ["ask", "why?"], ["show", "k"]):
    def _read_never_creates(tmp, command=command):
        target = tmp / "nonexistent" / "deep" / "path"
        outcome = expect_cli(cli(*command, "--db", target), (1,), f"no library in {target}")
        if (tmp / "nonexistent").exists():
            return Outcome(False, "created a library", seconds=outcome.seconds)
        return outcome
    case("datadir", f"{command[0]} with a mistyped --db", "error naming the path; nothing created")(_read_never_creates)


# --- 3. damage to a built library -----------------------------------------------------------------

_BUILT: dict = {}


def built_library(tmp: Path) -> tuple[Path, str, list[str]]:
    """A copy of one small library (built once), the query used, and its expected top keys."""
    if not _BUILT:
        root = Path(tempfile.mkdtemp(prefix="faults-built-"))
        folder = root / "in"
        folder.mkdir()
        titles = controls(folder, "built", n=12)
        lib = library(root / "db")
        lib.ingest([folder])
        _BUILT.update(db=root / "db", query=titles[5], keys=[h.key for h in lib.search(titles[5], k=5)], root=root)
    shutil.copytree(_BUILT["db"], tmp / "db")
    return tmp / "db", _BUILT["query"], _BUILT["keys"]


def derived_case(name: str, file: str | None, damage: Callable[[Path], None]):
    def run(tmp):
        db, query, keys = built_library(tmp)
        folder = db / json.loads((db / f"{name}.json").read_text())["dir"]
        damage(folder / file if file else folder)
        notes: list[str] = []
        try:
            lib = library(db, create=False)
            lib.notify = notes.append
            got = [h.key for h in lib.search(query, k=5)]
        except BaseException as exc:  # noqa: BLE001
            return Outcome(False, f"{type(exc).__name__}: {exc}"[:100], traceback=True)
        ok = got == keys and len(notes) == 1 and "rebuilt from the Chroma collection" in notes[0]
        return Outcome(ok, f"{len(notes)} warning(s); same ranking: {got == keys}")
    return run


for label, (name, file, damage) in DAMAGE.items():
    case("derived", label, "rebuilt from Chroma, one warning, same ranking")(derived_case(name, file, damage))


def sqlite_case(damage: Callable[[Path], None], needle: str):
    def run(tmp):
        db, _, _ = built_library(tmp)
        damage(db)
        return expect_cli(cli("stats", "--db", db), (1,), needle)
    return run


case("chroma-db", "chroma.sqlite3 deleted", "reported as damaged, not empty")(
    sqlite_case(lambda db: (db / "chroma" / "chroma.sqlite3").unlink(), "is damaged"))
case("chroma-db", "chroma.sqlite3 emptied (0 bytes)", "reported as damaged, not empty")(
    sqlite_case(lambda db: (db / "chroma" / "chroma.sqlite3").write_bytes(b""), "is damaged"))
case("chroma-db", "chroma.sqlite3 garbled", "clear error naming the folder and the rebuild")(
    sqlite_case(lambda db: (db / "chroma" / "chroma.sqlite3").write_bytes(b"garbage" * 5000), "cannot be read"))
case("chroma-db", "chroma folder deleted", "reported as damaged, not empty")(
    sqlite_case(lambda db: shutil.rmtree(db / "chroma"), "is damaged"))


# --- 4. concurrent writers and readers ----------------------------------------------------------------

@case("concurrency", "two ingests into one library at once", "serialised on the lock; every paper stored")
def _(tmp):
    folders = []
    for i in range(2):
        folder = tmp / f"in{i}"
        folder.mkdir()
        write(folder / "p.jsonl", jsonl(*[rec(f"Concurrent paper {i}-{j} about lock files",
                                              f"Paper {j} of ingest {i}, on serialising writers.") for j in range(15)]))
        folders.append(folder)
    procs = [subprocess.Popen([str(REVIEWER), "ingest", str(f), "--db", str(tmp / "db")], env=env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for f in folders]
    outs = [p.communicate(timeout=600) for p in procs]
    tb = any("Traceback" in o + e for o, e in outs)
    stored = len(library(tmp / "db", create=False))
    waited = sum("another ingest is running (pid" in e for _, e in outs)
    ok = stored == 30 and not tb and all(p.returncode == 0 for p in procs)
    return Outcome(ok, f"stored {stored}/30, exits {[p.returncode for p in procs]}, {waited} waited",
                   traceback=tb, lost=30 - stored)


@case("concurrency", "long-lived Library, another process ingests", "the new paper is found")
def _(tmp):
    db, _, _ = built_library(tmp)
    lib = library(db, create=False)
    lib.search("warm up", k=1)
    folder = tmp / "more"
    folder.mkdir()
    write(folder / "n.jsonl", jsonl(rec("Zebra finches learn songs from tutors", "Birdsong learning in zebra finches.")))
    done, _ = cli("ingest", folder, "--db", db)
    found = all(lib.search("zebra finches birdsong tutors", k=1, mode=m)[0].title.startswith("Zebra")
                for m in ("hybrid", "dense", "bm25"))
    return Outcome(found and done.returncode == 0, f"found by every mode: {found}", lost=0 if found else 1)


# --- 5. Chroma server faults -------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def health_check_seconds(url: str) -> float:
    """Seconds the start-up health check takes to give its clear error (in this process: the console
    script's own start-up time on a loaded machine would swamp it)."""
    from reviewer.config import Settings
    from reviewer.errors import IndexError_
    from reviewer.index.store import check_server

    started = time.perf_counter()
    try:
        check_server(Settings(chroma_url=url))
    except IndexError_:
        return time.perf_counter() - started
    return float("inf")


@case("server", "Chroma server down (closed port)", "clear error within 2 s")
def _(tmp):
    url = f"http://127.0.0.1:{free_port()}"
    outcome = expect_cli(cli("stats", REVIEWER_DB=tmp / "db", REVIEWER_CHROMA_URL=url), (1,), "cannot reach the Chroma server")
    outcome.seconds = health_check_seconds(url)
    outcome.handled = outcome.handled and outcome.seconds < 2
    return outcome


@case("server", "HTTP server that is not Chroma", "clear error within 2 s")
def _(tmp):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep the suite's output to its table
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        return expect_cli(cli("stats", REVIEWER_DB=tmp / "db", REVIEWER_CHROMA_URL=f"http://127.0.0.1:{server.server_port}"),
                          (1,), "not as a Chroma server")
    finally:
        server.shutdown()


@case("server", "server that accepts and never answers", "clear error within the timeout")
def _(tmp):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        outcome = expect_cli(cli("stats", REVIEWER_DB=tmp / "db", timeout=60, REVIEWER_CHROMA_URL=url),
                             (1,), "did not answer within 2 s")
        outcome.seconds = health_check_seconds(url)
        outcome.handled = outcome.handled and outcome.seconds < 2.5
        return outcome
    finally:
        listener.close()


def chroma_server(tmp: Path):
    port = free_port()
    proc = subprocess.Popen([str(CHROMA), "run", "--path", str(tmp / "server"), "--host", "127.0.0.1", "--port",
                             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("chroma run did not start")


@case("server", "server killed in the middle of an ingest", "stops with a clear error and the number stored")
def _(tmp):
    proc, url = chroma_server(tmp)
    folder = tmp / "in"
    folder.mkdir()
    write(folder / "p.jsonl", jsonl(*[rec(f"Server paper {i} on vector stores", "Long abstract. " * 40)
                                      for i in range(400)]))
    ingest = subprocess.Popen([str(REVIEWER), "ingest", str(folder)], env=env(REVIEWER_DB=tmp / "db",
                              REVIEWER_CHROMA_URL=url, REVIEWER_INGEST__UPSERT_BATCH=16),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(12)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed = time.perf_counter()
    out, err = ingest.communicate(timeout=120)
    seconds = time.perf_counter() - killed
    text = " ".join((out + err).split())
    tb = "Traceback" in text
    ok = ingest.returncode == 1 and "lost the Chroma server" in text and "were stored before that" in text and not tb
    line = next((x for x in err.splitlines() if x.startswith("error")), err.strip()[-90:])
    return Outcome(ok, f"exit {ingest.returncode}: {line[:90]}", traceback=tb, seconds=seconds)


@case("server", "server killed under an open Library", "clear error, not a raw httpx error")
def _(tmp):
    from reviewer.config import Settings
    from reviewer.errors import ReviewerError
    from reviewer.library import Library

    proc, url = chroma_server(tmp)
    folder = tmp / "in"
    folder.mkdir()
    controls(folder, "srv")
    lib = Library.open(settings=Settings(db=tmp / "db", chroma_url=url), embedder=embedder())
    lib.notify = lambda m: None
    lib.ingest([folder])
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    started = time.perf_counter()
    try:
        lib.search("retrieval robustness", k=2)
    except ReviewerError as exc:
        return Outcome("lost the Chroma server" in str(exc), str(exc)[:90], seconds=time.perf_counter() - started)
    except BaseException as exc:  # noqa: BLE001
        return Outcome(False, f"{type(exc).__name__}: {exc}"[:90], traceback=True)
    return Outcome(False, "search answered from a dead server")


# --- 6. LLM endpoint faults (the replayed cassettes of tests/test_llm_faults.py) -----------------------

def llm_cases() -> None:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider",
                           str(REPO / "tests" / "test_llm_faults.py")], capture_output=True, text=True, cwd=REPO,
                          env=env(), timeout=600)
    per_case = (time.perf_counter() - started)
    results = [line.split(" ", 1) for line in done.stdout.splitlines() if line.startswith(("PASSED ", "FAILED ", "ERROR "))]
    for status, test in results:
        name = test.split("::", 1)[1].split(" ")[0].removeprefix("test_").replace("_", " ")
        c = Case("llm", name, "clear LLMError, no traceback", run=lambda tmp: Outcome(False))
        c.outcome = Outcome(status == "PASSED", status.lower(), traceback=status == "ERROR",
                            seconds=per_case / max(len(results), 1))
        CASES.append(c)


# --- running and the table -------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", help="run only the cases whose group or name contains this")
    parser.add_argument("--no-llm", action="store_true", help="leave out the replayed LLM endpoint cases")
    args = parser.parse_args()
    started = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="reviewer-faults-"))
    chosen = [c for c in CASES if not args.only or args.only in c.group or args.only in c.name]
    for number, c in enumerate(chosen, 1):
        tmp = root / f"case{number:03d}"
        tmp.mkdir()
        t0 = time.perf_counter()
        try:
            c.outcome = c.run(tmp)
        except BaseException as exc:  # noqa: BLE001 - the suite itself must finish
            c.outcome = Outcome(False, f"suite error {type(exc).__name__}: {exc}"[:100])
        print(f"[{number:3d}/{len(chosen)}] {'ok ' if c.outcome.handled else 'BAD'} {c.group}: {c.name} "
              f"({time.perf_counter() - t0:.1f} s)", file=sys.stderr, flush=True)
    if not args.no_llm and (not args.only or args.only in "llm"):
        llm_cases()
        chosen = [c for c in CASES if not args.only or args.only in c.group or args.only in c.name]
    shutil.rmtree(root, ignore_errors=True)
    if _BUILT:
        shutil.rmtree(_BUILT["root"], ignore_errors=True)
    print_table(chosen, time.perf_counter() - started)
    return 0 if all(c.outcome.handled for c in chosen) else 1


def print_table(cases: list[Case], seconds: float) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="reviewer fault suite", show_lines=False)
    for column in ("#", "group", "case", "expectation", "outcome", "result"):
        table.add_column(column, overflow="fold")
    for number, c in enumerate(cases, 1):
        o = c.outcome
        result = "[green]handled[/]" if o.handled else ("[red]TRACEBACK[/]" if o.traceback else "[red]WRONG[/]")
        table.add_row(str(number), c.group, c.name, c.expectation, o.detail, result)
    console = Console(width=max(160, Console().width))
    console.print(table)
    errors = [c.outcome.seconds for c in cases if c.outcome.seconds is not None and c.group not in ("llm",)]
    totals = {
        "cases tried": len(cases),
        "handled cleanly": sum(c.outcome.handled for c in cases),
        "tracebacks": sum(c.outcome.traceback for c in cases),
        "valid papers lost": sum(c.outcome.lost for c in cases),
        "duplicates after re-ingest": sum(c.outcome.duplicates for c in cases),
        "seconds to a clear error (median / slowest)":
            f"{sorted(errors)[len(errors) // 2]:.1f} / {max(errors):.1f}" if errors else "-",
        "suite wall time (s)": f"{seconds:.0f}",
    }
    for name, value in totals.items():
        console.print(f"{name:>45}: {value}")


if __name__ == "__main__":
    sys.exit(main())
