"""A course with graded work, made with bulk inserts (the page tests and ``grades.bench``): coding-lab
rows with points, submitted attempts with points, students in sections. Every number varies by
student and item so that totals differ from row to row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from accounts.models import Course, Enrollment, Role, User
from labs.models import Lab, LabKind, Submission, SubmissionStatus
from quizzes.models import Assessment, AssessmentMode, Attempt, AttemptStatus


@dataclass
class Built:
    students: list[User]
    labs: list[Lab]
    exams: list[Assessment]
    practice: list[Assessment]
    unreleased: Assessment | None


def build_course(course: Course, *, now: datetime, students: int = 10, labs: int = 3, exams: int = 2,
                 practice: int = 1, unreleased: bool = True, prefix: str = "s",
                 sections: tuple[str, ...] = ("A", "B")) -> Built:
    """``labs`` coding labs worth 10 (the last not yet due, the others past due; every fourth student
    has nothing in one: missing), ``exams`` released exams worth 20 (every fifth student missed one),
    ``practice`` sets worth 5, and an exam taken but not released."""
    users = User.objects.bulk_create([User(username=f"{prefix}{i:03d}", display_name=f"學生{i:03d}", password="!",
                                           email=f"{prefix}{i:03d}@example.edu", student_number=f"{prefix}N{i:05d}")
                                      for i in range(students)])
    Enrollment.objects.bulk_create([Enrollment(user=u, course=course, role=Role.STUDENT,
                                               section=sections[i % len(sections)] if sections else "")
                                    for i, u in enumerate(users)])
    lab_rows = Lab.objects.bulk_create([
        Lab(course=course, slug=f"{course.slug}-lab{j + 1}", title=f"實驗 {j + 1}", kind=LabKind.CODE,
            code_points=Decimal(10), attempts_policy={"mode": "unlimited"}, late_policy={},
            translations={"en": {"title": f"Lab {j + 1}"}},
            due_at=now + timedelta(days=3) if j == labs - 1 else now - timedelta(days=labs - j))
        for j in range(labs)])
    Submission.objects.bulk_create([
        Submission(lab=lab, user=u, number=1, status=SubmissionStatus.GRADED, points=Decimal((i * 3 + j) % 11),
                   score=Decimal((i * 3 + j) % 11) / 10, finished_at=now, result={"parts": []},
                   part_points={"": (i * 3 + j) % 11})
        for j, lab in enumerate(lab_rows) for i, u in enumerate(users) if (i + j) % 4 != 0], batch_size=2000)

    def assessment(slug: str, mode: str, released: bool, title: str) -> Assessment:
        return Assessment.objects.create(
            course=course, slug=slug, title=title, mode=mode, published=True,
            translations={"en": {"title": slug.replace("-", " ").title()}},
            opens_at=now - timedelta(days=2) if mode == AssessmentMode.EXAM else None,
            closes_at=now - timedelta(days=1) if mode == AssessmentMode.EXAM else None,
            results_released_at=now - timedelta(hours=1) if released else None)

    exam_rows = [assessment(f"exam-{k + 1}", AssessmentMode.EXAM, True, f"考試 {k + 1}") for k in range(exams)]
    practice_rows = [assessment(f"practice-{k + 1}", AssessmentMode.PRACTICE, True, f"練習 {k + 1}")
                     for k in range(practice)]
    late = assessment("exam-late", AssessmentMode.EXAM, False, "未公布的考試") if unreleased else None
    attempts = []
    for k, exam in enumerate(exam_rows):
        attempts += [Attempt(assessment=exam, user=u, number=1, status=AttemptStatus.SUBMITTED, started_at=now,
                             submitted_at=now, points=Decimal((i + 2 * k) % 21), max_points=Decimal(20))
                     for i, u in enumerate(users) if (i + k) % 5 != 0]
    for k, p in enumerate(practice_rows):
        attempts += [Attempt(assessment=p, user=u, number=1, status=AttemptStatus.SUBMITTED, started_at=now,
                             submitted_at=now, points=Decimal((i + k) % 6), max_points=Decimal(5))
                     for i, u in enumerate(users) if i % 2 == 0]
    if late is not None:
        attempts += [Attempt(assessment=late, user=u, number=1, status=AttemptStatus.SUBMITTED, started_at=now,
                             submitted_at=now, points=Decimal(7), max_points=Decimal(10)) for u in users]
    Attempt.objects.bulk_create(attempts, batch_size=2000)
    return Built(users, list(lab_rows), exam_rows, practice_rows, late)
