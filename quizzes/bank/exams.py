"""Past exams as bank questions: the HackMD share note + our key points + reconstructed figures.

Pure Python (Django only for gettext). Every exam question becomes an essay question (points, year,
classmates' answers as peer answers, our key points); a reconstructed figure with numbers adds
numeric parts.
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


def _essay(question: ExamQuestion, key_points: list[str], figure: str | None, path: str,
           figures: dict[str, Figure], errors: list[BankError]) -> QuestionSource:
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
    """Read every ``*.md`` share note in ``exams_dir`` with ``key_points.yaml``, ``reconstructed.yaml``
    and ``figures.yaml`` (every image of a note is served from the project: no hotlink)."""
    errors: list[BankError] = []
    key_points_path = exams_dir / "key_points.yaml"
    reconstructed_path = exams_dir / "reconstructed.yaml"
    key_points: dict[str, list[str]] = yaml.safe_load(key_points_path.read_text("utf-8")) or {}
    figures, figure_errors = load_figures(exams_dir / "figures.yaml")
    errors.extend(figure_errors)
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
            essay = _essay(question, list(key_points[key]), figure, str(note), figures, errors)
            extra = _numeric_parts(question.year, question.number, entry, str(reconstructed_path)) if figure else []
            questions.extend([essay, *extra])
            mock_exams.setdefault(question.year, []).extend(q.id for q in [essay, *extra])
    return ExamBank(questions=questions, mock_exams=mock_exams), errors
