"""django-lti's records of a launch (user, context, membership, resource link, platform instance), written
with the values ``lti_tool.utils.sync_data_from_launch`` writes, in fewer queries: what exists is read in
one query (the membership with its user, account, context and resource link; for a first launch in the
context, the context with its resource link), a row is written only when a value changed, and a missing
row is made by one race-safe upsert (INSERT … ON CONFLICT DO UPDATE … RETURNING id).

django-lti's version runs an ``update_or_create`` per record on every launch (a SELECT … FOR UPDATE and an
UPDATE each, in savepoints): about twenty statements for a student who launched before and changed nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db import models
from django.db.models import FilteredRelation, Q, Subquery
from lti_tool.lti_core.constants import ContextRole, ContextType
from lti_tool.lti_core.utils import normalize_role
from lti_tool.models import (
    LtiContext,
    LtiLaunch,
    LtiMembership,
    LtiPlatformInstance,
    LtiResourceLink,
    LtiUser,
)
from lti_tool.utils import _get_ags_props, sync_deployment_from_launch

M = TypeVar("M", bound=models.Model)


def _changed(row: models.Model, values: dict[str, Any]) -> list[str]:
    return [name for name, value in values.items() if getattr(row, name) != value]


def _touched(model: type[models.Model]) -> list[str]:
    return ["datetime_modified"] if any(f.name == "datetime_modified" for f in model._meta.fields) else []


def _kept(row: M | None, model: type[M], lookup: dict[str, Any], values: dict[str, Any],
          inserted: dict[str, Any] | None = None) -> M:
    """``row`` (found before) with ``values``, saved only if one differs; or the row made (or updated, if a
    concurrent launch made it first) by one upsert. ``inserted``: values of a new row only (a row that
    exists keeps its own)."""
    if row is not None:
        changed = _changed(row, values)
        if changed:
            for name in changed:
                setattr(row, name, values[name])
            row.save(update_fields=[*changed, *_touched(model)])
        return row
    if not values:  # nothing to update on a conflict: the plain race-safe way
        made, _created = model._default_manager.get_or_create(**lookup, defaults=inserted or {})
        return made
    made = model(**lookup, **values, **(inserted or {}))
    model._default_manager.bulk_create([made], update_conflicts=True, unique_fields=list(_unique_fields(lookup)),
                                       update_fields=[*values, *_touched(model)])
    return made


def _unique_fields(lookup: dict[str, Any]) -> list[str]:
    return [name.removesuffix("_id") for name in lookup]


def _user_values(lti_launch: LtiLaunch) -> dict[str, Any]:
    claims = {"given_name": lti_launch.get_claim("given_name"), "family_name": lti_launch.get_claim("family_name"),
              "name": lti_launch.get_claim("name"), "email": lti_launch.get_claim("email"),
              "picture_url": lti_launch.get_claim("picture")}
    return {name: value for name, value in claims.items() if value is not None}


def _context_values(lti_launch: LtiLaunch) -> dict[str, Any]:
    claim = lti_launch.context_claim or {}
    nrps = lti_launch.nrps_claim
    types = claim.get("type", [])
    values: dict[str, Any] = {
        "title": claim.get("title", ""), "label": claim.get("label", ""),
        "is_course_template": ContextType.COURSE_TEMPLATE in types,
        "is_course_offering": ContextType.COURSE_OFFERING in types,
        "is_course_section": ContextType.COURSE_SECTION in types,
        "is_group": ContextType.GROUP in types,
    }
    if nrps is not None and nrps["context_memberships_url"]:
        values["memberships_url"] = nrps["context_memberships_url"]
    values.update(_get_ags_props(lti_launch))
    return values


def _membership_values(lti_launch: LtiLaunch) -> dict[str, Any]:
    roles = {normalize_role(role) for role in lti_launch.roles_claim}
    flags = {ContextRole.ADMINISTRATOR: "is_administrator", ContextRole.CONTENT_DEVELOPER: "is_content_developer",
             ContextRole.INSTRUCTOR: "is_instructor", ContextRole.LEARNER: "is_learner",
             ContextRole.MENTOR: "is_mentor"}
    return {field: True for role, field in flags.items() if role in roles}


def _resource_link_values(lti_launch: LtiLaunch) -> dict[str, Any]:
    claim = {k: v for k, v in lti_launch.resource_link_claim.items() if v is not None}
    return {"title": claim.get("title", ""), "description": claim.get("description", "")}


def launch_records_sync(lti_launch: LtiLaunch, *, account: Callable[[LtiUser], Any] | None = None) -> None:
    """What ``sync_data_from_launch`` writes (no LTI 1.1 migration claim: this tool takes none), with
    ``lti_launch.user`` and ``lti_launch.context`` set to the rows (no second read).

    Reads: a returning student's membership with its user, account, context and resource link (one
    query); otherwise the context with the resource link and whether the platform user is on record (one
    query), and that user only if it is. ``account(lti_user)``, for a platform user seen for the first
    time, gives the account to link: the new row is inserted linked (no UPDATE after)."""
    deployment = sync_deployment_from_launch(lti_launch)
    registration = lti_launch.registration
    sub = lti_launch.get_claim("sub")
    with_context = not lti_launch.is_data_privacy_launch
    context_id = (lti_launch.context_claim or {}).get("id", "")
    link_id = None if lti_launch.is_deep_link_launch else lti_launch.resource_link_claim["id"]
    membership = user = context = link = None
    if with_context:
        memberships = (LtiMembership.objects.select_related("user__auth_user", "context")
                       .filter(user__registration=registration, user__sub=sub, context__deployment=deployment,
                               context__id_on_platform=context_id))
        if link_id is not None:
            memberships = memberships.annotate(launch_link=FilteredRelation(
                "context__resource_links", condition=Q(context__resource_links__id_on_platform=link_id),
            )).select_related("launch_link")
        membership = memberships.first()
    if membership is not None:
        user, context = membership.user, membership.context
        link = getattr(membership, "launch_link", None)  # unset when the join found none
    else:
        if with_context:
            contexts = LtiContext.objects.filter(deployment=deployment, id_on_platform=context_id).annotate(
                launch_user_id=Subquery(LtiUser.objects.filter(registration=registration, sub=sub).values("pk")[:1]))
            if link_id is not None:
                contexts = contexts.annotate(launch_link=FilteredRelation(
                    "resource_links", condition=Q(resource_links__id_on_platform=link_id),
                )).select_related("launch_link")
            context = contexts.first()
            if context is not None and link_id is not None:
                link = getattr(context, "launch_link", None)
        if context is None or context.launch_user_id is not None:  # type: ignore[attr-defined]
            user = LtiUser.objects.select_related("auth_user").filter(registration=registration, sub=sub).first()
    lookup = {"registration_id": registration.pk, "sub": sub}
    if user is None and account is not None:
        # Made linked. If a concurrent launch (or a roster sync) made the row first, the upsert leaves its
        # link as it is: the same account, or none yet (the next launch links it).
        auth_user = account(LtiUser(**lookup, **_user_values(lti_launch)))
        user = _kept(None, LtiUser, lookup, _user_values(lti_launch), inserted={"auth_user_id": auth_user.pk})
        user.auth_user = auth_user
    else:
        user = _kept(user, LtiUser, lookup, _user_values(lti_launch))
    lti_launch.__dict__["user"] = user
    if with_context:
        context = _kept(context, LtiContext, {"deployment_id": deployment.pk, "id_on_platform": context_id},
                        _context_values(lti_launch))
        lti_launch.__dict__["context"] = context
        # None: not there when read (a new user or context, or the user's first launch in it): made by upsert.
        _kept(membership, LtiMembership, {"user_id": user.pk, "context_id": context.pk},
              _membership_values(lti_launch))
        if link_id is not None:
            _kept(link, LtiResourceLink, {"context_id": context.pk, "id_on_platform": link_id},
                  _resource_link_values(lti_launch))
    _platform_instance_sync(lti_launch, deployment)


def _platform_instance_sync(lti_launch: LtiLaunch, deployment: Any) -> None:
    claim = lti_launch.platform_instance_claim
    if claim is None:
        return
    values = {"contact_email": claim.get("contact_email", ""), "description": claim.get("description", ""),
              "name": claim.get("name", ""), "url": claim.get("url", ""),
              "product_family_code": claim.get("product_family_code", ""), "version": claim.get("version", "")}
    issuer = lti_launch.get_claim("iss")
    found = LtiPlatformInstance.objects.filter(issuer=issuer, guid=claim["guid"]).first()
    instance = _kept(found, LtiPlatformInstance, {"issuer": issuer, "guid": claim["guid"]}, values)
    if deployment.platform_instance_id != instance.pk:
        deployment.platform_instance = instance
        deployment.save(update_fields=["platform_instance"])
