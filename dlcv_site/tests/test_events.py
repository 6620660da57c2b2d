"""Announcements (dlcv_site/events.py): sent on commit, once per transaction and (task, id)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from dlcv_site import events

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.announces]


def test_an_announcement_is_sent_on_commit_once_per_task_and_id(monkeypatch: Any) -> None:
    sent: list[tuple[str, list[int]]] = []
    monkeypatch.setattr(events.current_app, "send_task", lambda task, args, queue: sent.append((task, args)))
    with transaction.atomic():
        events.announce("lti.assessment_results_released", 7)
        events.announce("lti.assessment_results_released", 7)  # a class regrade: many items, one exam
        events.announce("lti.assessment_results_released", 8)
        events.announce("lti.lab_submission_graded", 7)
        assert sent == []
    assert sent == [("lti.assessment_results_released", [7]), ("lti.assessment_results_released", [8]),
                    ("lti.lab_submission_graded", [7])]
    with transaction.atomic():
        events.announce("lti.assessment_results_released", 7)
        transaction.set_rollback(True)
    assert len(sent) == 3  # rolled back: nothing
    with transaction.atomic():
        events.announce("lti.assessment_results_released", 7)  # a new transaction announces again
    assert len(sent) == 4
    events.announce("lti.assessment_results_released", 9)  # outside a transaction: at once
    assert sent[-1] == ("lti.assessment_results_released", [9])
