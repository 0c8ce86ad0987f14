"""The ingest pipeline and Library against a real embedded Chroma and the real embedder."""

from __future__ import annotations

import pytest

from conftest import seed_papers, write_listing
from reviewer.index.ingest import paper_sentences


def texts_for(papers) -> int:
    """What ingest embeds per paper: the paper itself and each of its sentences."""
    return sum(1 + len(paper_sentences(p)) for p in papers)
from reviewer.errors import EmbedderMismatchError, InputError, NotFoundError


@pytest.fixture
def listing(tmp_path):
    return write_listing(tmp_path / "listing.txt", seed_papers(12))


def test_first_ingest_stores_every_paper_and_reingest_embeds_nothing(open_library, embedder, listing):
    library = open_library()
    report = library.ingest([listing])
    assert (len(report.new), len(report.updated), len(report.unchanged)) == (12, 0, 0)
    assert report.embedded == 12 and embedder.texts == texts_for(seed_papers(12))
    assert len(library) == 12

    embedder.calls = embedder.texts = 0
    again = open_library().ingest([listing])
    assert (len(again.new), len(again.updated), len(again.unchanged)) == (0, 0, 12)
    assert again.embedded == 0
    assert embedder.calls == 0, "an unchanged re-ingest must not call the embedder at all"


def test_keys_are_stable_across_reingest_and_after_adding_files(open_library, tmp_path, listing):
    library = open_library()
    library.ingest([listing])
    before = {p.title: p.key for p in library.papers()}

    more = write_listing(tmp_path / "more.txt", seed_papers(20)[8:])  # 4 already stored, 8 new
    report = library.ingest([more, listing])
    after = {p.title: p.key for p in library.papers()}
    # the 4 papers also found in more.txt gain a provenance (metadata only: not re-embedded)
    assert (len(report.new), len(report.updated), len(report.unchanged), report.embedded) == (8, 4, 8, 8)
    assert {t: after[t] for t in before} == before
    assert len(set(after.values())) == len(after) == 20


def test_changed_abstract_is_reembedded_and_key_kept(open_library, embedder, tmp_path):
    papers = seed_papers(5)
    path = write_listing(tmp_path / "l.txt", papers)
    library = open_library()
    library.ingest([path])
    key = library.papers(grep=papers[2].title[:30].lower())[0].key

    papers[2] = papers[2].model_copy(update={"abstract": papers[2].abstract + " We also release code."})
    write_listing(path, papers)
    embedder.texts = 0
    report = library.ingest([path])
    assert report.updated == [key] and len(report.unchanged) == 4
    assert embedder.texts == texts_for([papers[2]])
    assert library.get(key).abstract.endswith("We also release code.")


def test_metadata_only_update_is_not_reembedded(open_library, embedder, tmp_path, listing):
    library = open_library()
    library.ingest([listing])
    paper = seed_papers(1)[0]
    bib = tmp_path / "one.bib"
    bib.write_text(
        "@article{x,\n  title = {%s},\n  author = {Ada Lovelace and Alan Turing},\n  year = {2024},\n"
        "  abstract = {%s},\n}\n" % (paper.title, paper.abstract),
        encoding="utf-8",
    )
    embedder.texts = 0
    report = library.ingest([bib])
    assert len(report.updated) == 1 and embedder.texts == 0
    stored = library.get(report.updated[0])
    assert stored.authors == ["Ada Lovelace", "Alan Turing"] and stored.year == 2024
    assert any(p.startswith(str(listing)) for p in stored.provenance)
    assert any(p.startswith(str(bib)) for p in stored.provenance)


def test_missing_path_is_an_error_before_anything_is_written(open_library, listing, tmp_path):
    library = open_library()
    library.ingest([listing])
    revision = library.store.revision
    with pytest.raises(InputError, match="nope.bib"):
        library.ingest([listing, tmp_path / "nope.bib"])
    assert library.store.revision == revision and len(library) == 12


def test_search_finds_a_paper_by_its_topic(open_library, listing):
    library = open_library()
    library.ingest([listing])
    target = seed_papers(12)[3]
    hits = library.search(target.title, k=3)
    assert hits[0].title == target.title
    assert hits[0].score > hits[1].score
    assert library.get(hits[0].key).abstract == target.abstract


def test_get_unknown_key_says_how_to_find_keys(open_library):
    with pytest.raises(NotFoundError, match="reviewer papers"):
        open_library().get("nosuchkey2024")


def test_opening_with_another_embedder_is_a_clear_error(open_library, listing, minilm):
    open_library().ingest([listing])

    class Other:
        name, dimension = "other-model", 384

        def embed_array(self, texts):  # pragma: no cover - never reached
            raise AssertionError

    with pytest.raises(EmbedderMismatchError, match="all-MiniLM-L6-v2"):
        open_library(embedder=Other())


def test_keyword_index_follows_the_collection(open_library, listing):
    library = open_library()
    library.ingest([listing])
    index = library.keyword_index()
    assert len(index) == 12 and index.revision == library.store.revision
    title = seed_papers(12)[5].title
    assert index.search(title, 1)[0][0] == library.papers(grep=title.lower())[0].key

    library.store.new_revision()  # as if a crash happened after a write but before the index was saved
    fresh = open_library().keyword_index()
    assert fresh.revision == library.store.revision and len(fresh) == 12
