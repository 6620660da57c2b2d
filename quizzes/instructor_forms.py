"""Input validation for the instructor pages: types and ranges only; rules live in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from dlcv_site.i18n import COURSE_LANG
from quizzes.models import AssessmentMode, QuestionType
from quizzes.services.authoring import MAX_EXTRA_MINUTES, MAX_POOL_COUNT, MAX_SOURCE_LENGTH

MAX_SEED = 2**31 - 1
RETIRED_CHOICES = [("", _("Live questions")), ("retired", _("Retired only")), ("all", _("All"))]


class BankFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200,
                        help_text=_("Bank id, title or prompt text"))
    topic = forms.ChoiceField(label=_("Topic"), required=False)
    type = forms.ChoiceField(label=_("Type"), required=False,
                             choices=[("", _("All types")), *QuestionType.choices])
    difficulty = forms.TypedChoiceField(label=_("Difficulty"), required=False, coerce=int, empty_value=None,
                                        choices=[("", _("Any")), ("1", "1"), ("2", "2"), ("3", "3")])
    tag = forms.ChoiceField(label=_("Tag"), required=False)
    retired = forms.ChoiceField(label=_("Status"), required=False, choices=RETIRED_CHOICES)

    def __init__(self, *args: Any, topics: list[tuple[str, str]], tags: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["topic"].choices = [("", _("All topics")), *topics]
        self.fields["tag"].choices = [("", _("All tags")), *((tag, tag) for tag in tags)]


class QuestionSourceForm(forms.Form):
    text = forms.CharField(label=_("Source (Markdown with YAML front matter)"), strip=False,
                           max_length=MAX_SOURCE_LENGTH,
                           widget=forms.Textarea(attrs={"rows": 30, "spellcheck": "false", "class": "source-editor"}))
    seed = forms.IntegerField(label=_("Seed"), min_value=0, max_value=MAX_SEED, initial=1, required=False)


class PreviewForm(forms.Form):
    text = forms.CharField(strip=False, max_length=MAX_SOURCE_LENGTH)
    seed = forms.IntegerField(min_value=0, max_value=MAX_SEED, required=False)
    bank_id = forms.SlugField(required=False, max_length=100)  # the question being edited: its id must stay
    creating = forms.BooleanField(required=False)


class QuestionTypeForm(forms.Form):
    type = forms.ChoiceField(label=_("Type"), choices=QuestionType.choices, initial=QuestionType.SINGLE)


def _datetime_local() -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class AssessmentForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    slug = forms.SlugField(label=_("Slug"), max_length=80, help_text=_("Letters, digits and hyphens; part of the URL"))
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    # The same in English, for students who read the site in English (empty: they see the above).
    title_en = forms.CharField(label=_("Title in English"), max_length=200, required=False,
                               widget=forms.TextInput(attrs={"lang": "en"}),
                               help_text=_("Shown on English pages; empty: the title above"))
    description_en = forms.CharField(label=_("Description in English"), required=False,
                                     widget=forms.Textarea(attrs={"rows": 3, "lang": "en"}))
    mode = forms.ChoiceField(label=_("Mode"), choices=AssessmentMode.choices)
    published = forms.BooleanField(label=_("Published (visible to students)"), required=False)
    opens_at = forms.DateTimeField(label=_("Opens at"), required=False, widget=_datetime_local(),
                                   help_text=_("Course time (Asia/Taipei); empty: open now"))
    closes_at = forms.DateTimeField(label=_("Closes at"), required=False, widget=_datetime_local(),
                                    help_text=_("Course time (Asia/Taipei); empty: never closes"))
    time_limit_minutes = forms.IntegerField(label=_("Time limit (minutes)"), required=False, min_value=1,
                                            max_value=24 * 60, help_text=_("Empty: no time limit"))
    shuffle_questions = forms.BooleanField(label=_("Shuffle questions"), required=False)
    practice_reveal_after = forms.IntegerField(
        label=_("Practice: tries before the solution is shown"), required=False, min_value=1, max_value=20, initial=3,
        help_text=_("Wrong checks of a question before its solution appears; students may ask for it sooner. "
                    "Empty: 3"))


class ItemQuestionForm(forms.Form):
    bank_id = forms.SlugField(label=_("Question bank id"), max_length=100)
    points = forms.DecimalField(label=_("Points (empty: the question's own)"), required=False,
                                max_digits=6, decimal_places=2, min_value=0)


class ItemPoolForm(forms.Form):
    pool_topic = forms.ChoiceField(label=_("Topic"))
    pool_tag = forms.SlugField(label=_("Tag (optional)"), required=False, max_length=64)
    pool_count = forms.IntegerField(label=_("Number of questions"), min_value=1, max_value=MAX_POOL_COUNT, initial=1)
    points = forms.DecimalField(label=_("Points per question (empty: each question's own)"), required=False,
                                max_digits=6, decimal_places=2, min_value=0)

    def __init__(self, *args: Any, topics: list[tuple[str, str]], **kwargs: Any) -> None:
        # Its own ids: the assessment page shows it beside ItemQuestionForm, whose "points" is id_points.
        kwargs.setdefault("auto_id", "id_pool_%s")
        super().__init__(*args, **kwargs)
        self.fields["pool_topic"].choices = topics


class ItemMoveForm(forms.Form):
    direction = forms.ChoiceField(choices=[("up", "up"), ("down", "down")])


class ExtensionForm(forms.Form):
    user = forms.TypedChoiceField(label=_("Student"), coerce=int)
    extra_minutes = forms.IntegerField(label=_("Extra minutes (0 removes)"), min_value=0, max_value=MAX_EXTRA_MINUTES)

    def __init__(self, *args: Any, students: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].choices = [("", "—"), *students]


class RubricGradeForm(forms.Form):
    """A rubric grade of one exam essay: the rubric items applied, a free adjustment (points) and a comment."""

    applied = forms.TypedMultipleChoiceField(label=_("Rubric items"), required=False, coerce=int)
    adjustment = forms.DecimalField(label=_("Adjustment (points)"), required=False, max_digits=6, decimal_places=2,
                                    min_value=-1000, max_value=1000,
                                    widget=forms.NumberInput(attrs={"step": "0.5"}))
    comment = forms.CharField(label=_("Comment for the student"), required=False, max_length=5000,
                              widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, rubric_ids: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["applied"].choices = [(pk, str(pk)) for pk in rubric_ids]


class RubricItemForm(forms.Form):
    """A rubric item: its title (and English title) and its points (negative: a deduction)."""

    title = forms.CharField(label=_("Title"), max_length=300,  # written in the course's language
                            widget=forms.TextInput(attrs={"lang": COURSE_LANG}))
    title_en = forms.CharField(label=_("Title in English"), max_length=300, required=False,
                               widget=forms.TextInput(attrs={"lang": "en"}))
    points = forms.DecimalField(label=_("Points"), max_digits=6, decimal_places=2, min_value=-1000, max_value=1000,
                                widget=forms.NumberInput(attrs={"step": "0.5"}))


class AnonymousGradingForm(forms.Form):
    anonymous = forms.BooleanField(label=_("Anonymous grading: hide names until a question is done"),
                                   required=False)


class BankDownloadForm(forms.Form):
    """Which files to download as a zip: one topic, or the whole bank when none is chosen."""

    topic = forms.ChoiceField(label=_("Topic"), required=False)

    def __init__(self, *args: Any, topics: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["topic"].choices = [("", _("The whole bank")), *topics]


class ConflictResolveForm(forms.Form):
    keep = forms.ChoiceField(choices=[("file", _("The file's version")), ("browser", _("The browser's version"))])


EXPORT_FORMATS = [("moodle", _("Moodle XML")), ("qti", _("QTI 1.2 in an IMS Common Cartridge (Canvas)"))]
MAX_IMPORT_BYTES = 5 * 1024 * 1024


class BankExportForm(BankFilterForm):
    """The bank browser's filters, plus the format and how many variants of each parameterized question."""

    export = forms.ChoiceField(label=_("Format"), choices=EXPORT_FORMATS)
    variants = forms.IntegerField(label=_("Variants per parameterized question"), min_value=1, max_value=50,
                                  initial=3, required=False)


class MoodleImportForm(forms.Form):
    file = forms.FileField(label=_("Moodle XML file"))
    topic = forms.ChoiceField(label=_("Topic for questions outside a topic's category"))

    def __init__(self, *args: Any, topics: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["topic"].choices = topics

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(_("The file is larger than %(size)d MB.") % {"size": MAX_IMPORT_BYTES // 2**20})
        return upload
