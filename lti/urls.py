from django.urls import path

from lti import views

urlpatterns = [
    path("lti/jwks/", views.jwks, name="lti-jwks"),
    path("lti/login/<uuid:registration_uuid>/", views.oidc_login, name="lti-login"),
    path("lti/launch/", views.launch, name="lti-launch"),
    path("lti/continue/", views.launch_continue, name="lti-continue"),
    path("lti/deep-link/<str:launch_id>/", views.deep_link, name="lti-deep-link"),
    path("instructor/courses/<slug:course_slug>/lti/", views.registrations, name="lti-registrations"),
    path("instructor/courses/<slug:course_slug>/lti/roster-sync/", views.roster_sync, name="lti-roster-sync"),
    path("instructor/courses/<slug:course_slug>/lti/scores/", views.scores, name="lti-scores"),
    path("instructor/courses/<slug:course_slug>/lti/scores/sync/", views.scores_sync, name="lti-scores-sync"),
]
