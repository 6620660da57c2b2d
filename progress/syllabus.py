"""The syllabus's sections: which topics (``fixtures/bank/topics.yaml`` slugs, in that file's order)
make up each part of the course. The course home groups the practice sets by them. A topic not
listed (and a set of several topics, the mixed practice) falls into the last section; the past exams have their own section on the page."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

SECTIONS: tuple[tuple[str, Promise, tuple[str, ...]], ...] = (
    ("cnn-basics", _("CNN building blocks"),
     ("cnn-properties", "convolution", "padding-stride-dilation", "image-filters", "activations", "pooling",
      "flatten-fc", "layer-cost")),
    ("training", _("Architectures and training"),
     ("cnn-architectures", "regularization", "transfer-learning", "optimizers", "ml-basics", "information-theory",
      "backprop")),
    ("dense", _("Self-supervision and segmentation"),
     ("self-supervised", "segmentation", "fcn-unet", "upsampling")),
    ("detection", _("Localization and detection"),
     ("localization-pose", "two-stage-detection", "one-stage-detection", "detection-metrics")),
    ("generative", _("Generative models"), ("generative",)),
)
OTHER = ("more", _("Mixed and other practice"))
PAST_EXAMS_TOPIC = "past-exams"


def section_of(topic_slug: str | None) -> str:
    for key, _label, slugs in SECTIONS:
        if topic_slug in slugs:
            return key
    return OTHER[0]


def section_labels() -> list[tuple[str, Promise]]:
    return [(key, label) for key, label, _slugs in SECTIONS] + [OTHER]
