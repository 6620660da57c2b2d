"""One term per concept: the glossary file is sound, and neither the bank nor the problem families'
Chinese text uses a synonym the glossary rules out."""

from __future__ import annotations

from pathlib import Path

import pytest

from quizzes.bank.glossary import glossary_hits, load_glossary, scanned_lines

ROOT = Path(__file__).resolve().parents[2]
GLOSSARY = ROOT / "fixtures" / "bank" / "glossary.yaml"
CATALOGS = [
    ROOT / "grader" / "locale" / "zh_Hant" / "LC_MESSAGES" / "grader.po",
    ROOT / "locale" / "zh_Hant" / "LC_MESSAGES" / "django.po",
]


def test_the_glossary_has_one_chinese_term_per_concept() -> None:
    terms = load_glossary(GLOSSARY)
    assert len(terms) >= 20
    assert len({t.en for t in terms}) == len(terms), "a concept is listed twice"
    assert len({t.zh for t in terms}) == len(terms), "two concepts share a Chinese term"
    for term in terms:
        for other in terms:
            assert not any(p.fullmatch(other.zh) for p in term.avoid), (term.en, other.zh)
    by_en = {t.en: t for t in terms}
    assert by_en["stride"].zh == "步幅" and by_en["dilation"].zh == "擴張"
    assert by_en["optimizer"].zh == "最佳化器"


def test_the_bank_and_the_generators_use_the_preferred_terms() -> None:
    terms = load_glossary(GLOSSARY)
    lines = list(scanned_lines(bank_dir=ROOT / "fixtures" / "bank", exams_dir=ROOT / "fixtures" / "exams",
                               catalogs=CATALOGS))
    scanned = {path.name for path, _number, _line in lines}
    assert {"grader.po", "django.po", "topics.yaml", "key_points.yaml", "param-conv-cost-01.md"} <= scanned
    hits = glossary_hits(terms, lines)
    assert not hits, "non-preferred terms:\n" + "\n".join(map(str, hits))


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("卷積的步長 (stride) 為 2", "步長"),
        ("擴張卷積又叫膨脹卷積", "膨脹"),
        ("這一層沒有偏差 (bias)", "沒有偏差"),
        ("Adam 這個優化器", "優化器"),
        ("模型過度擬合", "過度擬合"),
    ],
)
def test_a_synonym_is_caught_in_a_question_and_in_a_catalog(tmp_path: Path, text: str, found: str) -> None:
    bank, exams = tmp_path / "bank", tmp_path / "exams"
    (bank / "topic").mkdir(parents=True)
    exams.mkdir()
    (bank / "topics.yaml").write_text("- {slug: topic, zh: 主題, en: Topic}\n", "utf-8")
    (bank / "topic" / "q.md").write_text(
        f"---\nid: q\naccept: ['過度擬合', '膨脹']\naccept:\n  - 步長\n---\n{text}\n", "utf-8"
    )
    po = tmp_path / "grader.po"
    po.write_text(f'msgid "Stride"\nmsgstr ""\n"{text}"\n\nmsgid "{text}"\nmsgstr "ok"\n', "utf-8")
    hits = glossary_hits(load_glossary(GLOSSARY), scanned_lines(bank_dir=bank, exams_dir=exams, catalogs=[po]))
    where = sorted((Path(h.path).name, h.line) for h in hits if h.found == found)
    # Once in the statement (line 7), once in the translation (line 3); not in the accepted
    # answers (lines 3-5 of q.md) nor in the English msgid (line 5 of the catalog).
    assert where == [("grader.po", 3), ("q.md", 7)]


def test_the_statistical_bias_keeps_its_word() -> None:
    terms = load_glossary(GLOSSARY)
    fine = ["Adam 的偏差修正 (bias correction)", "偏差–變異 (bias–variance) 的取捨", "修正這個偏差"]
    assert not glossary_hits(terms, [(Path("x.md"), 1, line) for line in fine])
