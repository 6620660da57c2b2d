"""The study app's hand-written SQL: today's queue snapshot on PostgreSQL (the study pages' and the
course home's hot read). Each function is one statement doing what its ORM rule in
``study.selectors`` does (``snapshot_head_orm``, ``snapshot_cards_orm``); Django compiling those
nested querysets cost most of the snapshot's time, the statements themselves well under a
millisecond. ``study/tests/test_sql.py`` runs both on the same rows and asserts the same values.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection

from dlcv_site.rows import postgres_available, table_name
from quizzes.models import Question, Topic
from study.models import Card, ReviewLog, StudyPreferences

#: Whether this database runs these statements (PostgreSQL); others take the ORM path.
available = postgres_available


def _head_sql() -> str:
    prefs, logs = table_name(StudyPreferences), table_name(ReviewLog)
    questions, topics = table_name(Question), table_name(Topic)
    return f"""
SELECT (SELECT p.new_per_day FROM {prefs} p WHERE p.user_id = %(user)s AND p.course_id = %(course)s),
       (SELECT p.reviews_per_day FROM {prefs} p WHERE p.user_id = %(user)s AND p.course_id = %(course)s),
       (SELECT count(DISTINCT l.source) FROM {logs} l
         WHERE l.user_id = %(user)s AND l.course_id = %(course)s
           AND l.reviewed_at >= %(start)s AND l.reviewed_at <= %(now)s),
       (SELECT count(q.id) FROM {questions} q),
       (SELECT max(q.updated_at) FROM {questions} q),
       (SELECT max(t.position) FROM {questions} q JOIN {topics} t ON t.id = q.topic_id)"""


def snapshot_head(*, user_id: int, course_id: int, start: datetime, now: datetime) -> tuple[Any, ...]:
    """(new_per_day, reviews_per_day — None without preferences —, answers reviewed between
    ``start`` and ``now``, the bank's question count, its last change, its last topic position)."""
    with connection.cursor() as cursor:
        cursor.execute(_head_sql(), {"user": user_id, "course": course_id, "start": start, "now": now})
        return tuple(cursor.fetchone())


def _cards_sql() -> str:
    return f"""
SELECT c.id, c.skill, c.topic_id, CASE WHEN c.due <= %(now)s THEN c.due END,
       (c.created_at >= %(start)s AND c.created_at <= %(now)s), c.serving_id
  FROM {table_name(Card)} c WHERE c.user_id = %(user)s AND c.course_id = %(course)s"""


def snapshot_cards(*, user_id: int, course_id: int, start: datetime, now: datetime) -> list[tuple[Any, ...]]:
    """The student's cards: (id, skill, topic_id, the due date only when due by ``now``, created
    between ``start`` and ``now``, serving_id), in no particular order."""
    with connection.cursor() as cursor:
        cursor.execute(_cards_sql(), {"user": user_id, "course": course_id, "start": start, "now": now})
        return cursor.fetchall()
