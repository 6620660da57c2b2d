"""Past exams as bank questions: the HackMD share note + our key points + reconstructed figures.

Pure Python (Django only for gettext). Every exam question becomes an essay question (points, year,
classmates' answers as peer answers, our key points); a reconstructed figure with numbers adds
numeric parts.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from quizzes.bank.format import BankError, QuestionSource
from quizzes.bank.hackmd import ExamQuestion, HackMDFormatError, exam_question_id, parse_exam_share
from quizzes.bank.i18n import gettext as _

EXAM_TOPIC = "past-exams"


@dataclass(frozen=True)
class ExamBank:
    questions: list[QuestionSource]
    mock_exams: dict[int, list[str]]  # year -> question ids in exam order (numeric parts after their essay)


def _source(qid: str, qtype: str, title: str, prompt: str, explanation: str, spec: dict[str, Any],
            points: float, path: str, tags: tuple[str, ...]) -> QuestionSource:
    payload = json.dumps([qid, qtype, title, prompt, explanation, spec, points, tags], ensure_ascii=False,
                         sort_keys=True)
    return QuestionSource(
        id=qid, type=qtype, topic=EXAM_TOPIC, title=title, difficulty=3, points=points, tags=tags,
        lang="zh-Hant", prompt=prompt, explanation=explanation, hint=None, spec=spec, path=path,
        content_hash=hashlib.sha256(payload.encode()).hexdigest(),
    )


def _first_line(text: str, limit: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _essay(question: ExamQuestion, key_points: list[str], figure: str | None, path: str) -> QuestionSource:
    prompt = question.prompt
    if figure:
        prompt += "\n\n:::info\n**圖的重建 (reconstructed figure)**：原圖已遺失，以下依同學答案重建。\n\n" + figure.strip() + "\n:::\n"
    explanation = "**評分重點 (key points)**\n\n" + "\n".join(f"- {point}" for point in key_points)
    spec = {
        "key_points": key_points,
        "peer_answers": [{"name": a.name, "style": a.style, "body": a.body} for a in question.peer_answers],
        "max_words": None,
        "year": question.year,
        "number": question.number,
        "images": list(question.images),
    }
    title = f"{question.year} 年第 {question.number} 題：{_first_line(question.prompt, 40)}"
    return _source(exam_question_id(question.year, question.number), "essay", title, prompt, explanation, spec,
                   question.points, path, (f"exam-{question.year}",))


def _numeric_parts(year: int, number: int, entry: dict[str, Any], path: str) -> list[QuestionSource]:
    numeric = entry.get("numeric")
    if not numeric:
        return []
    convention = " ".join(str(numeric.get("convention", "")).split())
    setting = (f"（承 {year} 年第 {number} 題的重建圖）輸入 {numeric['input']['channels']} 張 "
               f"{numeric['input']['height']}×{numeric['input']['width']} 特徵圖，輸出 "
               f"{numeric['output']['channels']} 張同樣大小的特徵圖，卷積核 {numeric['kernel']}。約定：{convention}")
    parts = []
    for key, label in (("normal", "一般卷積模組"), ("grouped", "分支卷積模組（8 個分支，每支 8 張）")):
        part = numeric[key]
        prompt = f"{setting}\n\n{label}共需要多少次乘法？"
        formula = part["formula"].replace("·", r" \cdot ")
        explanation = f"乘法數 $= {formula} = {part['multiplications']:,}$。"
        if key == "grouped":
            explanation += f" 一般卷積是它的 {numeric['ratio']} 倍：分組數就是節省的倍數。"
        spec = {
            "answer": part["multiplications"],
            "tolerance": {"abs": 0.5},
            "unit": "次乘法",
            "misconceptions": [
                {"answer": 2 * part["multiplications"],
                 "message": "這是 FLOPs（乘法＋加法）；題目只問乘法數 (multiply–accumulates)。"},
            ],
        }
        parts.append(_source(f"exam-{year}-q{number}-{key}-multiplies", "numeric", f"{year} 年第 {number} 題（數值）：{label}乘法數",
                             prompt, explanation, spec, 5, path, (f"exam-{year}",)))
    return parts


def load_exam_bank(exams_dir: Path) -> tuple[ExamBank, list[BankError]]:
    """Read every ``*.md`` share note in ``exams_dir`` with ``key_points.yaml`` and ``reconstructed.yaml``."""
    errors: list[BankError] = []
    key_points_path = exams_dir / "key_points.yaml"
    reconstructed_path = exams_dir / "reconstructed.yaml"
    key_points: dict[str, list[str]] = yaml.safe_load(key_points_path.read_text("utf-8")) or {}
    reconstructed: dict[str, dict[str, Any]] = (
        yaml.safe_load(reconstructed_path.read_text("utf-8")) if reconstructed_path.exists() else {}
    ) or {}
    questions: list[QuestionSource] = []
    mock_exams: dict[int, list[str]] = {}
    for note in sorted(exams_dir.glob("*.md")):
        try:
            parsed = parse_exam_share(note.read_text("utf-8"))
        except HackMDFormatError as exc:
            errors.append(BankError(str(note), exc.line, str(exc)))
            continue
        for question in parsed:
            key = f"{question.year}-{question.number}"
            if not key_points.get(key):
                errors.append(BankError(str(key_points_path), 1,
                                        _("no key points for exam question %(key)s") % {"key": key}))
                continue
            entry = reconstructed.get(key) or {}
            figure = entry.get("figure") if entry.get("status") == "reconstructed" else None
            essay = _essay(question, list(key_points[key]), figure, str(note))
            extra = _numeric_parts(question.year, question.number, entry, str(reconstructed_path)) if figure else []
            questions.extend([essay, *extra])
            mock_exams.setdefault(question.year, []).extend(q.id for q in [essay, *extra])
    return ExamBank(questions=questions, mock_exams=mock_exams), errors
