"""Past exams as bank questions: the HackMD share note + our key points + reconstructed figures.

Pure Python (Django only for gettext). Every exam question becomes an essay question (points, year,
classmates' answers as peer answers, our key points); a reconstructed figure with numbers adds
numeric parts. ``english.yaml`` gives each question in English: a title, a summary of the question
(the question and the classmates' answers stay as they were written; pages show the summary above
them) and our key points; the numeric parts are worded in English here.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from quizzes.bank.format import BankError, QuestionSource
from quizzes.bank.hackmd import ExamQuestion, HackMDFormatError, exam_question_id, parse_exam_share
from quizzes.bank.i18n import gettext as _

EXAM_TOPIC = "past-exams"
FIGURE_KINDS = ("svg", "formula", "unavailable")
#: Markdown (``![alt](url "title")``) and HTML (``<img src>``) images, with what follows on the line.
_MARKDOWN_IMAGE_RE = re.compile(r"!\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
_HTML_IMAGE_RE = re.compile(r"<img\b[^>]*?\bsrc\s*=\s*[\"']([^\"']+)[\"'][^>]*>", re.IGNORECASE)


@dataclass(frozen=True)
class Figure:
    """One image of the share note as the project serves it (``fixtures/exams/figures.yaml``)."""

    url: str
    kind: str
    file: str = ""
    alt: str = ""
    latex: str = ""
    showed: str = ""
    caption: str = ""

    def markdown(self, static_url: str) -> str:
        """The Markdown that stands in for the image: a local image, a formula, or a labelled box."""
        caption = f"\n\n*{self.caption}*" if self.caption else ""
        if self.kind == "svg":
            alt = " ".join(self.alt.split()).replace("[", "(").replace("]", ")")
            return f"![{alt}]({static_url}exams/{self.file}){caption}"
        if self.kind == "formula":
            return f"$${self.latex}$${caption}"
        return f"> **圖無法取得 (figure not available)**：{' '.join(self.showed.split())}"


def load_figures(path: Path) -> tuple[dict[str, Figure], list[BankError]]:
    """``figures.yaml``: image URL → how it is served. Errors name the entry."""
    if not path.exists():
        return {}, []
    raw = yaml.safe_load(path.read_text("utf-8")) or {}
    figures: dict[str, Figure] = {}
    errors: list[BankError] = []
    needs = {"svg": ("file", "alt"), "formula": ("latex",), "unavailable": ("showed",)}
    for url, entry in raw.items():
        kind = entry.get("kind") if isinstance(entry, dict) else None
        if kind not in FIGURE_KINDS:
            errors.append(BankError(str(path), 1, _("figure %(url)s: kind must be one of %(kinds)s")
                                    % {"url": url, "kinds": ", ".join(FIGURE_KINDS)}))
            continue
        missing = [key for key in needs[kind] if not str(entry.get(key) or "").strip()]
        if missing:
            errors.append(BankError(str(path), 1, _("figure %(url)s: %(keys)s missing")
                                    % {"url": url, "keys": ", ".join(missing)}))
            continue
        figures[str(url)] = Figure(url=str(url), kind=kind, **{k: str(entry.get(k) or "").strip()
                                                              for k in ("file", "alt", "latex", "showed", "caption")})
    return figures, errors


def _static_url() -> str:
    """Where the static files are served (``STATIC_URL``, absolute), ``/static/`` without Django."""
    try:
        from django.conf import settings

        url = str(settings.STATIC_URL) if settings.configured else "/static/"
    except ImportError:  # pragma: no cover - Django is a dependency of the project
        url = "/static/"
    return url if url.startswith(("/", "http")) else "/" + url


def serve_figures(markdown: str, figures: dict[str, Figure], *, where: str) -> tuple[str, list[str]]:
    """``markdown`` with every image replaced by its figure; the URLs that have none (errors)."""
    unknown: list[str] = []
    static_url = _static_url()

    def swap(match: re.Match[str], url: str) -> str:
        figure = figures.get(url)
        if figure is None:
            unknown.append(url)
            return match.group(0)
        return "\n\n" + figure.markdown(static_url) + "\n\n"

    text = _MARKDOWN_IMAGE_RE.sub(lambda m: swap(m, m.group(2)), markdown)
    text = _HTML_IMAGE_RE.sub(lambda m: swap(m, m.group(1)), text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip("\n")
    return text, [f"{where}: {url}" for url in unknown]


@dataclass(frozen=True)
class ExamBank:
    questions: list[QuestionSource]
    mock_exams: dict[int, list[str]]  # year -> question ids in exam order (numeric parts after their essay)


def _source(qid: str, qtype: str, title: str, prompt: str, explanation: str, spec: dict[str, Any],
            points: float, path: str, tags: tuple[str, ...],
            translations: dict[str, dict[str, Any]] | None = None) -> QuestionSource:
    translations = translations or {}
    payload = json.dumps([qid, qtype, title, prompt, explanation, spec, points, tags]
                         + ([translations] if translations else []), ensure_ascii=False, sort_keys=True)
    return QuestionSource(
        id=qid, type=qtype, topic=EXAM_TOPIC, title=title, difficulty=3, points=points, tags=tags,
        lang="zh-Hant", prompt=prompt, explanation=explanation, hint=None, spec=spec, path=path,
        content_hash=hashlib.sha256(payload.encode()).hexdigest(), translations=translations,
    )


def _english_essay(english: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The ``translations`` of an exam essay from its ``english.yaml`` entry (none without one)."""
    if not english:
        return {}
    key_points = [str(point) for point in english["key_points"]]
    return {"en": {"title": str(english["title"]), "summary": str(english["summary"]), "key_points": key_points,
                   "explanation": "**Key points**\n\n" + "\n".join(f"- {point}" for point in key_points)}}


def _first_line(text: str, limit: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _essay(question: ExamQuestion, key_points: list[str], figure: str | None, path: str,
           figures: dict[str, Figure], errors: list[BankError],
           english: dict[str, Any] | None = None) -> QuestionSource:
    where = f"{question.year}-{question.number}"
    prompt, unknown = serve_figures(question.prompt, figures, where=where)
    peers = []
    for answer in question.peer_answers:
        body, more = serve_figures(answer.body, figures, where=f"{where} ({answer.name or answer.style})")
        peers.append({"name": answer.name, "style": answer.style, "body": body})
        unknown += more
    for entry in unknown:
        errors.append(BankError(path, 1, _("image without an entry in figures.yaml (it would be a hotlink): %(image)s")
                                % {"image": entry}))
    if figure:
        prompt += "\n\n:::info\n**圖的重建 (reconstructed figure)**：原圖已遺失，以下依同學答案重建。\n\n" + figure.strip() + "\n:::\n"
    explanation = "**評分重點 (key points)**\n\n" + "\n".join(f"- {point}" for point in key_points)
    spec = {
        "key_points": key_points,
        "peer_answers": peers,
        "max_words": None,
        "year": question.year,
        "number": question.number,
        # The note's images, as served: local files, formulas or "not available" boxes.
        "figures": [{"kind": figures[url].kind, "file": figures[url].file} for url in question.images
                    if url in figures],
    }
    title = f"{question.year} 年第 {question.number} 題：{_first_line(question.prompt, 40)}"
    translations = _english_essay(english)
    if translations:
        translations["en"]["title"] = f"Exam {question.year}, question {question.number}: {translations['en']['title']}"
    return _source(exam_question_id(question.year, question.number), "essay", title, prompt, explanation, spec,
                   question.points, path, (f"exam-{question.year}",), translations)


def _numeric_parts(year: int, number: int, entry: dict[str, Any], path: str,
                   english: dict[str, Any] | None = None) -> list[QuestionSource]:
    numeric = entry.get("numeric")
    if not numeric:
        return []
    convention = " ".join(str(numeric.get("convention", "")).split())
    setting = (f"（承 {year} 年第 {number} 題的重建圖）輸入 {numeric['input']['channels']} 張 "
               f"{numeric['input']['height']}×{numeric['input']['width']} 特徵圖，輸出 "
               f"{numeric['output']['channels']} 張同樣大小的特徵圖，卷積核 {numeric['kernel']}。約定：{convention}")
    english_setting = ""
    if english and english.get("numeric_convention"):
        english_setting = (
            f"(From the reconstructed figure of exam {year}, question {number}.) The input is "
            f"{numeric['input']['channels']} feature maps of {numeric['input']['height']}×{numeric['input']['width']}, "
            f"the output {numeric['output']['channels']} feature maps of the same size, with {numeric['kernel']} "
            f"kernels. Conventions: {' '.join(str(english['numeric_convention']).split())}")
    english_labels = {"normal": "the normal convolution module",
                      "grouped": "the branched convolution module (8 branches of 8 maps each)"}
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
        translations: dict[str, dict[str, Any]] = {}
        if english_setting:
            english_explanation = f"Multiplications $= {formula} = {part['multiplications']:,}$."
            if key == "grouped":
                english_explanation += (f" The normal convolution needs {numeric['ratio']} times as many: the number of "
                                        "groups is the factor saved.")
            translations["en"] = {
                "title": f"Exam {year}, question {number} (numeric): multiplications of {english_labels[key]}",
                "prompt": f"{english_setting}\n\nHow many multiplications does {english_labels[key]} need?",
                "explanation": english_explanation, "unit": "multiplications",
                "misconceptions": ["That is the FLOPs (multiplications + additions); the question asks only for the "
                                   "multiplications (multiply–accumulates)."],
            }
        parts.append(_source(f"exam-{year}-q{number}-{key}-multiplies", "numeric", f"{year} 年第 {number} 題（數值）：{label}乘法數",
                             prompt, explanation, spec, 5, path, (f"exam-{year}",), translations))
    return parts


def _english_problem(entry: Any, key_points: int) -> str | None:
    """What is wrong with an ``english.yaml`` entry (translated), or None."""
    if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) and entry[k].strip()
                                              for k in ("title", "summary")):
        return _("an English entry needs a title and a summary")
    points = entry.get("key_points")
    if not isinstance(points, list) or len(points) != key_points or not all(isinstance(p, str) and p for p in points):
        return (_("the English key points must translate the %(count)d key points one for one")
                % {"count": key_points})
    return None


def load_exam_bank(exams_dir: Path) -> tuple[ExamBank, list[BankError]]:
    """Read every ``*.md`` share note in ``exams_dir`` with ``key_points.yaml``, ``reconstructed.yaml``
    and ``figures.yaml`` (every image of a note is served from the project: no hotlink)."""
    errors: list[BankError] = []
    key_points_path = exams_dir / "key_points.yaml"
    reconstructed_path = exams_dir / "reconstructed.yaml"
    key_points: dict[str, list[str]] = yaml.safe_load(key_points_path.read_text("utf-8")) or {}
    figures, figure_errors = load_figures(exams_dir / "figures.yaml")
    errors.extend(figure_errors)
    english_path = exams_dir / "english.yaml"
    english: dict[str, dict[str, Any]] = (
        yaml.safe_load(english_path.read_text("utf-8")) if english_path.exists() else {}
    ) or {}
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
            in_english = english.get(key)
            if in_english is not None:
                problem = _english_problem(in_english, len(key_points[key]))
                if problem:
                    errors.append(BankError(str(english_path), 1, f"{key}: {problem}"))
                    in_english = None
            essay = _essay(question, list(key_points[key]), figure, str(note), figures, errors, in_english)
            extra = (_numeric_parts(question.year, question.number, entry, str(reconstructed_path), in_english)
                     if figure else [])
            questions.extend([essay, *extra])
            mock_exams.setdefault(question.year, []).extend(q.id for q in [essay, *extra])
    return ExamBank(questions=questions, mock_exams=mock_exams), errors
