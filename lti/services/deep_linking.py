"""Deep linking: an instructor launched from the LMS to choose what to place in the LMS course; the
answer is a signed LtiDeepLinkingResponse (pylti1p3's, with our key) naming one ltiResourceLink whose
custom parameter (``assessment`` or ``lab``: a slug) a later launch lands on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from pylti1p3.contrib.django import DjangoCacheDataStorage
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.exception import LtiException

from accounts.models import Course
from labs.models import Lab
from lti.services.launch import launch_refusal
from lti.services.platforms import CachedKeysLaunch, StrictToolConfig
from quizzes.models import Assessment


def _spent_key(launch_id: str) -> str:
    return f"lti:deep-link-spent:{launch_id}"


def deep_link_launch_get(*, request: Any, launch_id: str) -> tuple[CachedKeysLaunch, Course]:
    """A deep linking launch (its id: pylti1p3's random ``lti1p3-launch-<uuid>``), restored from the
    cache, and its course; refused once answered or expired. The view also requires the course's staff."""
    if not launch_id.startswith("lti1p3-launch-") or cache.get(_spent_key(launch_id)):
        raise launch_refusal("launch_deep_link_gone")
    try:
        message_launch = CachedKeysLaunch.from_cache(launch_id, request, StrictToolConfig(),
                                                     launch_data_storage=DjangoCacheDataStorage())
    except LtiException as exc:
        raise launch_refusal("launch_deep_link_gone") from exc
    if not message_launch.is_deep_link_launch():
        raise launch_refusal("launch_deep_link_gone")
    tool_registration = message_launch.get_tool_conf().tool_registration  # read with the registration
    if tool_registration is None:
        raise launch_refusal("launch_no_course")
    return message_launch, tool_registration.course


@dataclass(frozen=True)
class Choice:
    value: str  # "assessment:<slug>" or "lab:<slug>"
    title: str
    kind: str  # "assessment" or "lab"
    translations: dict[str, Any]


def deep_link_choices(*, course: Course) -> list[Choice]:
    """The course's published assessments and labs (two queries)."""
    choices = [Choice(f"assessment:{a.slug}", a.title, "assessment", a.translations)
               for a in Assessment.objects.filter(course=course, published=True).order_by("title")]
    choices += [Choice(f"lab:{lab.slug}", lab.title, "lab", lab.translations)
                for lab in Lab.objects.filter(course=course, published=True).order_by("title")]
    return choices


def deep_link_response(*, message_launch: CachedKeysLaunch, course: Course, value: str,
                       launch_url: str) -> tuple[str, str] | None:
    """(the platform's return URL, the signed response JWT) for the chosen item; None if not one of the choices."""
    chosen = next((c for c in deep_link_choices(course=course) if c.value == value), None)
    if chosen is None:
        return None
    kind, slug = chosen.value.split(":", 1)
    resource = (DeepLinkResource().set_url(launch_url).set_title(chosen.title)
                .set_custom_params({kind: slug}))
    deep_link = message_launch.get_deep_link()
    settings_claim = message_launch.get_launch_data()[
        "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"]
    if not cache.add(_spent_key(message_launch.get_launch_id()), 1, 86400):  # one answer per launch
        raise launch_refusal("launch_deep_link_gone")
    return settings_claim["deep_link_return_url"], deep_link.get_response_jwt([resource])
