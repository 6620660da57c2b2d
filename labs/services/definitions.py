"""Lab definitions (``fixtures/labs/*.yaml``): what makes one valid, and loading one into a course."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F

from accounts.models import Course
from grader.codelabs import CodeLab, get_codelab
from grader.problems import get_family
from grader.sandbox.runtime import package_set_errors
from labs.models import Lab, LabKind, LabPart
from labs.policy import policy_spec_errors

_SPEC_KEYS = {"slug", "title", "description", "due_days", "attempts_policy", "late_policy", "parts", "kind", "codelab",
              "allowed_packages", "en"}
_PART_KEYS = {"key", "title", "family", "constraints", "points", "en"}
#: A lab's texts in English (``en:``): its title and description, and each part's title.
_ENGLISH_KEYS = {"title", "description"}


def _english_errors(where: str, english: Any, keys: set[str]) -> list[str]:
    """What is wrong with an ``en:`` mapping (its ``title`` is required); empty if it is fine."""
    if english is None:
        return []
    if not isinstance(english, Mapping):
        return [f"{where}en must be a mapping of {', '.join(sorted(keys))}"]
    errors = [f"{where}en: unknown field {k!r}" for k in english if k not in keys]
    errors += [f"{where}en.{k} must be a non-empty string" for k in keys
               if k in english and (not isinstance(english[k], str) or not english[k].strip())]
    if "title" not in english:
        errors.append(f"{where}en.title is required")
    return errors


def _translations(english: Any, keys: set[str]) -> dict[str, dict[str, str]]:
    """``{"en": {...}}`` from a validated ``en:`` mapping ({} without one)."""
    if not isinstance(english, Mapping):
        return {}
    return {"en": {k: str(english[k]).strip() for k in keys if english.get(k)}}
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def _part_errors(index: int, part: Any) -> list[str]:
    where = f"parts[{index}]"
    if not isinstance(part, Mapping):
        return [f"{where} must be a mapping"]
    errors = [f"{where}: unknown field {k!r}" for k in part if k not in _PART_KEYS]
    for field in ("key", "title", "family"):
        if not isinstance(part.get(field), str) or not part[field].strip():
            errors.append(f"{where}.{field} is required")
    errors += _english_errors(f"{where}.", part.get("en"), {"title"})
    if errors:
        return errors
    if not _SLUG.match(part["key"]):
        errors.append(f"{where}.key {part['key']!r} must be a slug")
    points = part.get("points", 1)
    if not isinstance(points, int | float) or points <= 0:
        errors.append(f"{where}.points must be positive")
    constraints = part.get("constraints") or {}
    if not isinstance(constraints, Mapping):
        return [*errors, f"{where}.constraints must be a mapping"]
    try:
        family = get_family(part["family"])
    except KeyError as exc:
        return [*errors, f"{where}: {exc.args[0]}"]
    # Generate a few variants: bad constraints raise, and the family must accept its own answer.
    for seed in range(3):
        try:
            params = family.generate(seed, dict(constraints) or None)
            typed = family.format_answer(params, family.solve(params))
            score = family.check(params, typed).score
        except (ValueError, TypeError, KeyError) as exc:
            return [*errors, f"{where} ({part['family']}): {exc}"]
        if score != 1.0:
            return [*errors, f"{where} ({part['family']}): its own answer scored {score} for seed {seed}"]
    return errors


def _allowed_packages_errors(packages: Any, codelab: CodeLab) -> list[str]:
    """``allowed_packages``: a sandbox runtime that holds what the code lab's own solution needs."""
    errors = package_set_errors(packages)
    if not errors and not set(codelab.allowed_packages) <= set(packages):
        errors.append(f"allowed_packages {list(packages)!r}: the code lab {codelab.slug!r} needs "
                      f"{list(codelab.allowed_packages)!r}")
    return errors


def lab_spec_errors(spec: Any) -> list[str]:
    """What is wrong with a lab definition (a ``fixtures/labs/*.yaml`` file); empty if it is fine."""
    if not isinstance(spec, Mapping):
        return ["a lab definition must be a mapping"]
    errors = [f"unknown field {k!r}" for k in spec if k not in _SPEC_KEYS]
    if not isinstance(spec.get("slug"), str) or not _SLUG.match(spec["slug"]):
        errors.append("slug is required and must be a slug like 'lab1-convolution'")
    if not isinstance(spec.get("title"), str) or not spec["title"].strip():
        errors.append("title is required")
    errors += policy_spec_errors(spec)
    errors += _english_errors("", spec.get("en"), _ENGLISH_KEYS)
    kind = spec.get("kind", LabKind.NUMERIC)
    if kind not in LabKind.values:
        return [*errors, f"kind must be one of {', '.join(LabKind.values)}"]
    if kind == LabKind.CODE:
        if spec.get("parts"):
            errors.append("a coding lab has no parts: its tests come from the grader's code lab")
        try:
            codelab = get_codelab(str(spec.get("codelab") or ""))
        except KeyError as exc:
            return [*errors, f"codelab: {exc.args[0]}"]
        return errors + _allowed_packages_errors(spec.get("allowed_packages", list(codelab.allowed_packages)), codelab)
    if spec.get("codelab"):
        errors.append("codelab is only for kind: code")
    if "allowed_packages" in spec:
        errors.append("allowed_packages is only for kind: code")
    parts = spec.get("parts")
    if not isinstance(parts, list) or not parts:
        return [*errors, "parts must be a non-empty list"]
    for index, part in enumerate(parts):
        errors += _part_errors(index, part)
    keys = [p.get("key") for p in parts if isinstance(p, Mapping)]
    errors += [f"part key {k!r} appears twice" for k in sorted({k for k in keys if keys.count(k) > 1})]
    return errors


@transaction.atomic
def lab_upsert(*, course: Course, spec: Mapping[str, Any]) -> tuple[Lab, bool]:
    """Create or update a lab and its parts from a validated definition; ``(lab, created)``.

    Idempotent: parts are matched by key, parts no longer listed are removed, and a ``due_days``
    offset counts from when the lab was first created (so reloading never moves the due date).
    """
    errors = lab_spec_errors(spec)
    if errors:
        raise ValueError("; ".join(errors))
    lab = Lab.objects.select_for_update().filter(slug=spec["slug"]).first()
    if lab is not None and lab.course_id != course.pk:
        raise ValueError(f"lab slug {spec['slug']!r} already belongs to course {lab.course.slug!r}")
    created = lab is None
    if lab is None:
        lab = Lab(course=course, slug=spec["slug"])
    lab.title = spec["title"].strip()
    lab.description = (spec.get("description") or "").strip()
    lab.translations = _translations(spec.get("en"), _ENGLISH_KEYS)
    lab.kind = spec.get("kind", LabKind.NUMERIC)
    lab.codelab = str(spec.get("codelab") or "") if lab.kind == LabKind.CODE else ""
    # Default: what the code lab itself allows (numpy, unless its solution needs more).
    lab.allowed_packages = (
        sorted(set(spec.get("allowed_packages") or get_codelab(lab.codelab).allowed_packages))
        if lab.kind == LabKind.CODE else []
    )
    lab.code_points = (
        Decimal(str(get_codelab(lab.codelab).total_points())).quantize(Decimal("0.01")) if lab.codelab else Decimal(0)
    )
    lab.attempts_policy = dict(spec.get("attempts_policy") or {"mode": "unlimited"})
    lab.late_policy = dict(spec.get("late_policy") or {})
    lab.save()
    due_days = spec.get("due_days")
    due_at = lab.created_at + timedelta(days=due_days) if due_days is not None else None
    if lab.due_at != due_at:
        lab.due_at = due_at
        lab.save(update_fields=["due_at"])
    parts = spec.get("parts") or []
    keys = [part["key"] for part in parts]
    lab.parts.exclude(key__in=keys).delete()
    lab.parts.update(position=F("position") + 10_000)  # free the positions before renumbering
    for position, part in enumerate(parts, start=1):
        LabPart.objects.update_or_create(
            lab=lab,
            key=part["key"],
            defaults={
                "position": position,
                "title": part["title"].strip(),
                "translations": _translations(part.get("en"), {"title"}),
                "family": part["family"],
                "constraints": dict(part.get("constraints") or {}),
                "points": Decimal(str(part.get("points", 1))),
            },
        )
    return lab, created
