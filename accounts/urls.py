from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from accounts import people_views, token_views, views
from accounts.forms import InvitingPasswordResetForm

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(template_name="accounts/login.html"), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/tokens/", token_views.tokens, name="account-tokens"),
    # Password reset by email: Django's views, the site's templates (templates/registration/).
    path("accounts/password-reset/", auth_views.PasswordResetView.as_view(
        form_class=InvitingPasswordResetForm, success_url=reverse_lazy("password_reset_done"),
        html_email_template_name=None), name="password_reset"),
    path("accounts/password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("accounts/reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("accounts/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("accounts/invitation/<uidb64>/<token>/", people_views.InvitationAcceptView.as_view(),
         name="invitation-accept"),
    path("join/", people_views.join, name="course-join"),
    path("instructor/", views.instructor_home, name="instructor-home"),
    path("instructor/courses/new/", people_views.course_new, name="instructor-course-new"),
    path("instructor/courses/<slug:course_slug>/", views.instructor_course, name="instructor-course"),
    path("instructor/courses/<slug:course_slug>/roster/import/", people_views.roster_import,
         name="instructor-roster-import"),
    path("instructor/courses/<slug:course_slug>/people/", people_views.course_people,
         name="instructor-course-people"),
    path("instructor/courses/<slug:course_slug>/people/<int:user_id>/remove/", people_views.course_staff_remove,
         name="instructor-staff-remove"),
    path("instructor/courses/<slug:course_slug>/people/<int:user_id>/sections/", people_views.course_staff_sections,
         name="instructor-staff-sections"),
    path("instructor/courses/<slug:course_slug>/join-code/", people_views.course_join_code,
         name="instructor-join-code"),
]
