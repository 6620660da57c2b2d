"""The space between a translated label and what follows it on its line: ``{% load wording %}``.

English writes "Course total: 12"; Traditional Chinese writes "課程總成績：12", no space after a
full-width colon or comma (the full-width sign holds its own space). A template therefore writes no
space of its own after such a label but lets the label's language decide::

    {% translate "Course total:" as label %}{{ label|spaced }}<strong>{{ total }}</strong>

Here (accounts, the lowest app) so that every app's templates share it.
"""

from __future__ import annotations

import re

from django import template

register = template.Library()

#: Ends in CJK or full-width punctuation (：，；、。「」（）…): nothing is added after it.
_FULL_WIDTH_END = re.compile(r"[\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]\Z")


@register.filter(is_safe=True)
def spaced(label: str) -> str:
    """``label`` and one space, unless it ends in full-width punctuation."""
    text = str(label)
    return text if _FULL_WIDTH_END.search(text) else f"{text} "
