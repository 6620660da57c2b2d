"""The grader's translation catalog: every marked message translated, placeholders kept, compiled."""

from __future__ import annotations

import io

from babel.messages.catalog import Catalog

from grader import catalogs
from grader.i18n import LANGS, Plural, Text, gettext_for, localize


def test_every_message_of_the_grader_is_translated_and_the_mo_is_compiled() -> None:
    problems = catalogs.check()
    assert not problems, "\n".join(map(str, problems)) + "\nRun: python -m grader.catalogs update"


def test_the_check_finds_a_missing_translation_a_bad_placeholder_and_a_stale_entry() -> None:
    source = Catalog()
    source.add("Correct.")
    source.add("%(ok)d of %(n)d")
    source.add("Missing here.")
    catalog = Catalog(locale="zh_Hant")
    catalog.add("Correct.", "正確。")
    catalog.add("%(ok)d of %(n)d", "%(ok)d / %(count)d")  # a renamed placeholder would raise KeyError
    catalog.add("Gone from the source.", "舊的")
    found = {(problem.msgid, problem.what.split(" ")[0]) for problem in catalogs._problems(source, catalog)}
    assert found == {("Missing here.", "no"), ("%(ok)d of %(n)d", "placeholders"), ("Gone from the source.", "in")}


def test_texts_are_worded_late_in_every_language() -> None:
    text = Text("%(ok)d of your %(n)d entries are correct.", ok=3, n=4)
    assert localize(text) == {"en": "3 of your 4 entries are correct.", "zh-Hant": "你的 4 個值中有 3 個正確。"}
    assert set(localize(text)) == set(LANGS)
    nested = Text("- **%(label)s**: %(feedback)s", label=Text("Output size"), feedback=Text("Correct."))
    assert nested("zh-Hant") == "- **輸出大小 (output size)**: 正確。"
    assert gettext_for("en")("Correct.") == "Correct." and gettext_for("zh-Hant")("Correct.") == "正確。"
    one, two = Plural("%(n)d test", "%(n)d tests", 1), Plural("%(n)d test", "%(n)d tests", 2)
    assert (one("en"), two("en")) == ("1 test", "2 tests")


def test_the_compiled_catalog_is_read_by_the_standard_library() -> None:
    import gettext

    data = catalogs.mo_path("zh_Hant").read_bytes()
    translations = gettext.GNUTranslations(io.BytesIO(data))
    assert translations.gettext("Correct.") == "正確。"
