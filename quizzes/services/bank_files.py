"""The bank as files again: a question, a topic or the whole bank as a zip in the bank's format, so that
edits made in the browser go back into the repository (unzip into ``fixtures/``, commit, and load_bank
then finds the files in sync)."""

from __future__ import annotations

import io
import zipfile

from quizzes.instructor_selectors import bank_source_files, topics_yaml
from quizzes.models import Topic

ZIP_ROOT = "bank"  # the zip's paths start with bank/, so `unzip -o bank.zip -d fixtures/` puts them in place


def bank_zip(*, topic: Topic | None = None) -> bytes:
    """``bank/<topic>/<id>.md`` for every live question with a file of its own (one topic, or all of them
    with ``bank/topics.yaml``), each text exactly as the question's current version has it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        if topic is None:
            archive.writestr(f"{ZIP_ROOT}/topics.yaml", topics_yaml())
        for path, text in bank_source_files(topic=topic):
            archive.writestr(f"{ZIP_ROOT}/{path}", text)
    return buffer.getvalue()
