"""Identity for titles in every script: dedupe, keys and re-ingest work for CJK, Arabic, Cyrillic, Greek."""

from __future__ import annotations

import json

from reviewer.corpus.model import normalize_title

TITLES = ["深度学习中的注意力机制", "大型语言模型的上下文学习", "التعلم العميق للغة الطبيعية",
          "Глубокое обучение с подкреплением", "Βαθιά μάθηση για την όραση", "知识图谱"]


def test_titles_of_every_script_normalise_to_their_letters():
    assert normalize_title("深度学习：注意力机制！") == "深度学习 注意力机制"
    assert normalize_title("Глубокое  ОБУЧЕНИЕ.") == "глубокое обучение"
    assert normalize_title("ΒΑΘΙΆ Μάθηση") == normalize_title("βαθιά μάθηση")
    assert normalize_title("ＢＥＲＴ：Ｐｒｅ－ｔｒａｉｎｉｎｇ") == "bert pre training"  # NFKC: full-width forms
    assert normalize_title("Café au lait") == "cafe au lait"  # Latin accents still dropped
    assert normalize_title("التعلم العميق") == "التعلم العميق"


def test_reingesting_non_latin_papers_is_a_no_op(open_library, tmp_path):
    path = tmp_path / "papers.jsonl"
    path.write_text("".join(json.dumps({"title": t, "abstract": f"Abstract {i} about {t}."}, ensure_ascii=False)
                            + "\n" for i, t in enumerate(TITLES)), encoding="utf-8")
    library = open_library()
    first = library.ingest([path])
    assert len(first.new) == 6 and first.skipped == []
    assert sorted(first.new) == sorted({p.key for p in library.papers()})
    assert "zhishitupu" in first.new and "glubokoeobuchenie" in first.new
    second = library.ingest([path])
    assert (second.new, second.updated, len(second.unchanged), second.embedded) == ([], [], 6, 0)
    assert len(library) == 6
    hits = library.search("Глубокое обучение с подкреплением", k=1, mode="bm25")
    assert hits[0].title == "Глубокое обучение с подкреплением"
