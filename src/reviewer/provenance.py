"""How a draft was made, recorded in review.json so that `reviewer review --update` can tell what changed.

review.json (format :data:`FORMAT`) holds, beside the draft itself, ``"format": 1`` and a ``"provenance"`` object:

* ``library_revision``: the library's revision when the files were last written;
* ``relevance_order``: the reviewed papers in retrieval order; ``left_out``: papers the evidence gate did not
  admit (an update does not reconsider them);
* ``themes``: each theme's ``id``, ``keys`` and unit ``centroid`` (4 decimals) — what new papers are compared to;
* ``sections``: for each section its ``theme``, ``heading``, ``inputs`` (the keys it was written from: the papers
  it quotes offline, its theme's papers with a model), ``evidence`` (a hash of the topic, the heading and summary,
  and the inputs' titles and abstracts), ``transitions`` (leading sentences that are the introduction's
  transition into it), ``output`` (a hash of its block in review.md, heading to last paragraph) and ``edited``
  (the author changed that block by hand);
* ``engine``, ``model`` and ``prompts`` (a hash of each prompt file the chain uses).

Hashes are the first 16 hex digits of SHA-256. A draft is reloaded with :func:`load`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from reviewer.errors import InputError

FORMAT = 1
PROMPTS = ("review_outline", "review_section", "review_intro", "support_check", "support_rewrite")


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def prompt_versions() -> dict[str, str]:
    from reviewer import prompts

    return {name: digest(prompts.load(name).system + "\n" + prompts.load(name).user) for name in PROMPTS}


def evidence_hash(topic: str, theme, keys: Sequence[str], papers: Mapping) -> str:
    parts = [topic, theme.name, theme.summary] + [f"{k}\n{papers[k].title}\n{papers[k].abstract}" for k in keys]
    return digest("\n\n".join(parts))


def centroid_list(vector) -> list[float]:
    vector = np.asarray(vector, dtype=np.float64)
    vector = vector / (np.linalg.norm(vector) or 1.0)
    return [round(float(x), 4) + 0.0 for x in vector]


def section_record(draft, section, inputs: Sequence[str], transitions: int = 0) -> dict:
    return {"theme": section.theme.id, "heading": section.heading, "inputs": list(inputs),
            "evidence": evidence_hash(draft.topic, section.theme, inputs, draft.papers), "transitions": transitions}


def record(draft, library, centroids: Mapping[int, object], relevance_order: Sequence[str], left_out: Sequence[str],
           inputs: Mapping[int, Sequence[str]], transitions: Mapping[int, int] | None = None) -> None:
    """Set ``draft.provenance`` (see the module's docstring); ``inputs`` and ``transitions`` by theme id."""
    transitions = transitions or {}
    draft.provenance = {
        "library_revision": library.store.revision,
        "engine": draft.engine, "model": draft.settings.get("model"), "prompts": prompt_versions(),
        "relevance_order": [k for k in relevance_order if k in draft.papers], "left_out": sorted(left_out),
        "themes": [{"id": t.id, "keys": list(t.keys), "centroid": centroid_list(centroids[t.id])}
                   for t in draft.themes],
        "sections": [section_record(draft, s, inputs[s.theme.id], transitions.get(s.theme.id, 0))
                     for s in draft.sections],
    }


def to_json_fields(draft) -> dict:
    """{"format", "provenance"} for review.json, each section with the hash of its block in review.md."""
    by_theme = {s.theme.id: s for s in draft.sections}
    sections = []
    for entry in draft.provenance.get("sections", []):
        section = by_theme.get(entry["theme"])
        if section is None:
            continue
        sections.append({**entry, "heading": section.heading, "output": digest(draft.section_markdown(section)),
                         "edited": section.theme.id in draft.kept})
    return {"format": FORMAT, "provenance": {**draft.provenance, "sections": sections}}


def section_blocks(markdown: str) -> dict[str, str]:
    """{heading line: block} of review.md's sections (each from its ``## `` line to its last non-blank line)."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in markdown.splitlines():
        if line.startswith("## "):
            current = blocks.setdefault(line, [])
        if current is not None:
            current.append(line)
    return {heading: "\n".join(lines).rstrip() for heading, lines in blocks.items()}


# -------------------------------------------------------------------------------------------- loading
def read(directory: Path, *, any_format: bool = False) -> dict:
    """review.json of ``directory``, checked to be of this format (``any_format``: only to name a topic);
    InputError (saying what to do) if not."""
    path = Path(directory) / "review.json"
    if not path.is_file():
        raise InputError(f"{directory} holds no review.json: give the folder a `reviewer review TOPIC --out DIR` "
                         "wrote")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {path} ({exc}): restore it, or write a fresh draft with `reviewer review "
                         "TOPIC --out DIR`") from None
    if any_format and isinstance(data, dict) and isinstance(data.get("topic"), str):
        return data
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("provenance"), dict):
        found = data.get("format") if isinstance(data, dict) else None
        raise InputError(f"{path} is {'an old-format one (no provenance)' if found is None else f'of format {found}'}"
                         f", which --update cannot use (it needs format {FORMAT}): write a fresh draft with "
                         f"`reviewer review --update {directory} --rethink`")
    return data


def load(data: dict, library):
    """(the Draft review.json describes, its papers looked up in ``library``; keys no longer in the library)."""
    from reviewer.draft import Draft, Section, Sentence, Theme

    keys = sorted({k for t in data["themes"] for k in t["keys"]})
    papers = library.store.get(keys)
    draft = Draft(data["topic"], data["engine"], settings=dict(data["settings"]), warnings=list(data["warnings"]),
                  papers={k: papers[k] for k in keys if k in papers}, provenance=dict(data["provenance"]))
    draft.themes = [Theme(t["id"], t["name"], list(t["terms"]), list(t["keys"]), t["summary"]) for t in data["themes"]]
    by_id = {t.id: t for t in draft.themes}

    def sentence(d: dict) -> Sentence:
        return Sentence(d["text"], list(d["keys"]), d["support"], d["score"], d["reason"], d["original"], d["quote"])

    draft.introduction = [sentence(d) for d in data["introduction"]]
    draft.sections = [Section(by_id[s["theme"]], s["heading"], [[sentence(d) for d in p] for p in s["paragraphs"]])
                      for s in data["sections"]]
    draft.points = {k: (x, y) for k, (x, y) in data["points"].items()}
    return draft, [k for k in keys if k not in papers]
