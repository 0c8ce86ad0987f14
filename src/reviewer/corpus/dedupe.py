"""Merge records of the same paper read from several files or formats.

Two records are the same paper when they share a DOI, an arXiv id or a normalized title; the relation
is transitive (a union of these identities). The merged paper keeps the first record's title, every
provenance in order, and the richest metadata: the first non-empty venue / DOI / arXiv id / url / year,
the longest abstract, the longest author list.
"""

from __future__ import annotations

from collections.abc import Iterator

from reviewer.corpus.model import Paper, normalize_arxiv_id, normalize_doi


def identities(paper: Paper) -> Iterator[tuple[str, str]]:
    """('doi', ...), ('arxiv', ...), ('title', ...) for the identities the paper has."""
    if doi := normalize_doi(paper.doi):
        yield "doi", doi
    if arxiv := normalize_arxiv_id(paper.arxiv_id):
        yield "arxiv", arxiv
    if title := paper.norm_title:
        yield "title", title


def group_records(papers: list[Paper]) -> list[list[Paper]]:
    """Records grouped by shared identity; groups in order of their first record, records in input order."""
    parent = list(range(len(papers)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_with: dict[tuple[str, str], int] = {}
    for i, paper in enumerate(papers):
        for identity in identities(paper):
            a, b = find(i), find(first_with.setdefault(identity, i))
            parent[max(a, b)] = min(a, b)  # the root is always the group's first record
    groups: dict[int, list[Paper]] = {}
    for i, paper in enumerate(papers):
        groups.setdefault(find(i), []).append(paper)
    return list(groups.values())


def merge(records: list[Paper]) -> Paper:
    """One paper from records of the same paper (see the module docstring for which values win)."""
    data = records[0].model_dump()
    for other in records[1:]:
        for name in ("venue", "doi", "arxiv_id", "url", "year"):
            if data[name] in (None, "") and getattr(other, name) not in (None, ""):
                data[name] = getattr(other, name)
        if len(other.abstract) > len(data["abstract"]):
            data["abstract"] = other.abstract
        if len(other.authors) > len(data["authors"]):
            data["authors"] = list(other.authors)
    data["provenance"] = list(dict.fromkeys(p for r in records for p in r.provenance))
    return Paper(**data)


def conflicts(records: list[Paper]) -> list[str]:
    """Warnings for a merged group whose records carry different DOIs or arXiv ids."""
    warnings = []
    for label, norm, attr in (("DOIs", normalize_doi, "doi"), ("arXiv ids", normalize_arxiv_id, "arxiv_id")):
        values = list(dict.fromkeys(v for r in records if (v := norm(getattr(r, attr)))))
        if len(values) > 1:
            places = ", ".join(p for r in records for p in r.provenance)
            warnings.append(f"{records[0].provenance[0]}: merged as one paper despite different {label} "
                            f"({', '.join(values)}); records at {places}")
    return warnings


def dedupe(papers: list[Paper]) -> tuple[list[Paper], list[str]]:
    """Unique papers (in order of first appearance) and warnings about conflicting identifiers."""
    merged, warnings = [], []
    for group in group_records(papers):
        merged.append(merge(group) if len(group) > 1 else group[0])
        if len(group) > 1:
            warnings.extend(conflicts(group))
    return merged, warnings
