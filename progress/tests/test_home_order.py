"""The course home's weak topics: the weakest first, topics equally weak in syllabus order (what the
removed ``quizzes.selectors.practice_strengths`` promised for practice, now the home's rule)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from progress.presenters import course_home
from progress.selectors import GradedAnswer, TopicInfo


def test_equally_weak_topics_are_listed_in_syllabus_order() -> None:
    now = timezone.now()
    # Syllabus order as the selector gives it; ids deliberately not in that order.
    topics = [TopicInfo(40, "convolution", "卷積", "Convolution", 1), TopicInfo(10, "pooling", "池化", "Pooling", 2),
              TopicInfo(30, "backprop", "反向傳播", "Backprop", 3), TopicInfo(20, "detection", "偵測", "Detection", 4)]
    scores = {40: 0.5, 10: 0.5, 30: 0.2, 20: 0.5}  # backprop the weakest; the other three tie
    answers = [GradedAnswer(1, topic_id, score, now - timedelta(hours=hours), "", ())
               for topic_id, score in scores.items() for hours in (1, 2, 3)]
    home = course_home(course_slug="dlcv", rows=[], topics=topics, answers=answers, now=now)
    assert [row["slug"] for row in home["weak_topics"]] == ["backprop", "convolution", "pooling", "detection"]
