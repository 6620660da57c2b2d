"""People pages, without Django admin: a new course, its roster (CSV import), staff, join code,
TAs' sections; a student's join page; the invitation link. Thin: form → access → service → presenter."""

from __future__ import annotations

from functools import partial

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import course_creator_check, course_get_for_instructor
from accounts.forms import CourseForm, JoinForm, RosterApplyForm, RosterUploadForm, SectionsForm, StaffAddForm
from accounts.models import STAFF_ROLES, Enrollment, Role, TeachingSection, User
from accounts.presenters import roster_plan_view
from accounts.roster import RosterFileError, roster_read_csv
from accounts.selectors import user_sees_instructor_link
from accounts.services.courses import (
    course_create_by,
    course_join,
    course_join_code_disable,
    course_join_code_rotate,
    course_member_remove_staff,
    course_staff_add,
    teaching_sections_set,
)
from accounts.services.invitations import invitations_enqueue
from accounts.services.roster import (
    RosterChanged,
    RosterRefused,
    StudentNumberMatcher,
    roster_apply,
    roster_plan,
)
from dlcv_site.errors import InvalidInput, ServiceError


def _inviter(request: HttpRequest, course_id: int | None):  # type: ignore[no-untyped-def]
    """What a service calls once committed to send invitations (links on this site's address)."""
    return partial(_invite, course_id=course_id, base_url=request.build_absolute_uri("/"))


def _invite(user_ids: list[int], *, course_id: int | None, base_url: str) -> None:
    invitations_enqueue(user_ids, course_id=course_id, base_url=base_url)


@login_required
@require_http_methods(["GET", "POST"])
def course_new(request: HttpRequest) -> HttpResponse:
    course_creator_check(user=request.user)
    form = CourseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            course = course_create_by(user=request.user, **form.cleaned_data)
        except InvalidInput as exc:
            for name, message in exc.errors.items():
                form.add_error(name if name in form.fields else None, message)
        else:
            messages.success(request, _("Course created: %(course)s.") % {"course": course})
            return redirect("instructor-course", course_slug=course.slug)
    return render(request, "accounts/course_new.html", {"form": form, "is_course_staff": True})


@login_required
@require_http_methods(["GET", "POST"])
def roster_import(request: HttpRequest, course_slug: str) -> HttpResponse:
    """GET: the upload form. POST with a file: its preview (nothing written). POST "apply" with the
    previewed text: the same file applied, in one transaction."""
    course = course_get_for_instructor(user=request.user, course_slug=course_slug)
    context: dict[str, object] = {"course": course, "form": RosterUploadForm(), "is_course_staff": True}
    if request.method == "POST":
        if "apply" in request.POST:
            apply_form = RosterApplyForm(request.POST)
            if not apply_form.is_valid():
                return render(request, "accounts/roster_import.html", context, status=400)
            filename = apply_form.cleaned_data["filename"]
            data = apply_form.cleaned_data["content"].encode()
            expected = apply_form.cleaned_data["fingerprint"] or None
        else:
            upload_form = RosterUploadForm(request.POST, request.FILES)
            context["form"] = upload_form
            if not upload_form.is_valid():
                return render(request, "accounts/roster_import.html", context, status=400)
            upload = upload_form.cleaned_data["file"]
            filename, data = upload.name, upload.read()
        matcher = StudentNumberMatcher(filename)
        try:
            entries = roster_read_csv(data=data, filename=filename)
            if "apply" in request.POST:
                try:
                    plan = roster_apply(course=course, entries=entries, matcher=matcher,
                                        on_invite=_inviter(request, course.pk), expected_fingerprint=expected)
                except RosterChanged as exc:
                    messages.warning(request, exc.message)  # the new preview follows
                else:
                    summary = plan.summary()
                    messages.success(request, _("Roster applied: %(new)s new, %(restored)s restored, %(updated)s "
                                                "updated, %(dropped)s dropped, %(unchanged)s unchanged.") % summary)
                    return redirect("instructor-course", course_slug=course.slug)
            plan = roster_plan(course=course, entries=entries, matcher=matcher)
            if plan.errors:
                raise RosterRefused(plan.errors)
        except (RosterFileError, RosterRefused) as exc:
            context["errors"] = exc.errors
            return render(request, "accounts/roster_import.html", context, status=400)
        context.update(preview=roster_plan_view(plan),
                       apply_form=RosterApplyForm(initial={"filename": filename, "content": data.decode("utf-8-sig"),
                                                           "fingerprint": plan.fingerprint()}))
    return render(request, "accounts/roster_import.html", context)


def _staff_context(course, form: StaffAddForm) -> dict[str, object]:  # type: ignore[no-untyped-def]
    staff = list(Enrollment.objects.filter(course=course, role__in=STAFF_ROLES).select_related("user")
                 .order_by("role", "user__username"))
    sections: dict[int, list[str]] = {}
    for row in TeachingSection.objects.filter(course=course).order_by("section"):
        sections.setdefault(row.user_id, []).append(row.section)
    return {"course": course, "form": form, "join_code": course.join_code, "is_course_staff": True,
            "staff": [{"enrollment": e, "is_ta": e.role == Role.TA, "sections": ", ".join(sections.get(e.user_id, []))}
                      for e in staff]}


@login_required
@require_http_methods(["GET", "POST"])
def course_people(request: HttpRequest, course_slug: str) -> HttpResponse:
    """The course's staff (add a TA or an instructor) and its join code."""
    course = course_get_for_instructor(user=request.user, course_slug=course_slug)
    form = StaffAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user, created = course_staff_add(course=course, **form.cleaned_data, on_invite=_inviter(request, course.pk))
        except InvalidInput as exc:
            for name, message in exc.errors.items():
                form.add_error(name if name in form.fields else None, message)
        else:
            messages.success(request, (_("%(user)s added; an invitation was sent.") if created
                                       else _("%(user)s added.")) % {"user": user})
            return redirect("instructor-course-people", course_slug=course.slug)
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/course_people.html", _staff_context(course, form), status=status)


@login_required
@require_POST
def course_staff_remove(request: HttpRequest, course_slug: str, user_id: int) -> HttpResponse:
    course = course_get_for_instructor(user=request.user, course_slug=course_slug)
    try:
        course_member_remove_staff(course=course, user_id=user_id, acting_user=request.user)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Removed from the course's staff."))
    return redirect("instructor-course-people", course_slug=course.slug)


@login_required
@require_POST
def course_staff_sections(request: HttpRequest, course_slug: str, user_id: int) -> HttpResponse:
    course = course_get_for_instructor(user=request.user, course_slug=course_slug)
    user = get_object_or_404(User, pk=user_id, enrollments__course=course)
    form = SectionsForm(request.POST)
    try:
        if not form.is_valid():
            raise InvalidInput(_("A section name has at most 64 characters."))
        sections = teaching_sections_set(course=course, user=user, sections=form.cleaned_data["sections"])
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(user)s sees: %(sections)s.")
                         % {"user": user, "sections": ", ".join(sections) or _("every section")})
    return redirect("instructor-course-people", course_slug=course.slug)


@login_required
@require_POST
def course_join_code(request: HttpRequest, course_slug: str) -> HttpResponse:
    course = course_get_for_instructor(user=request.user, course_slug=course_slug)
    if request.POST.get("action") == "disable":
        course_join_code_disable(course=course)
        messages.success(request, _("Joining with a code is off."))
    else:
        code = course_join_code_rotate(course=course)
        messages.success(request, _("New join code: %(code)s.") % {"code": code})
    return redirect(reverse("instructor-course-people", args=[course.slug]) + "#join-code")


@login_required
@require_http_methods(["GET", "POST"])
def join(request: HttpRequest) -> HttpResponse:
    """A student joins a course with its code."""
    form = JoinForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            course = course_join(user=request.user, code=form.cleaned_data["code"])
        except ServiceError as exc:
            form.add_error("code", exc.message)
        else:
            messages.success(request, _("You are in %(course)s.") % {"course": course})
            return redirect("course-dashboard", course_slug=course.slug)
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/join.html",
                  {"form": form, "is_course_staff": user_sees_instructor_link(user=request.user)}, status=status)


class InvitationAcceptView(auth_views.PasswordResetConfirmView):
    """The invitation's link: Django's reset confirmation (one-time, expiring token), worded as a
    first password, and logged in afterwards."""

    template_name = "accounts/invitation_accept.html"
    post_reset_login = True
    post_reset_login_backend = "accounts.backends.UserBackend"
    success_url = reverse_lazy("home")
    reset_url_token = "set-password"

    def form_valid(self, form):  # type: ignore[no-untyped-def]
        response = super().form_valid(form)
        messages.success(self.request, _("Your password is set; welcome."))
        return response
