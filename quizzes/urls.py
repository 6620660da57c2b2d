"""Student pages and the quiz page's JSON endpoints (included at the site root)."""

from django.urls import path

from quizzes import regrade_views, views

urlpatterns = [
    path("courses/<slug:course_slug>/a/<slug:assessment_slug>/", views.assessment_landing,
         name="assessment-landing"),
    path("courses/<slug:course_slug>/a/<slug:assessment_slug>/start", views.assessment_start,
         name="assessment-start"),
    path("courses/<slug:course_slug>/a/<slug:assessment_slug>/study", views.past_exam_study,
         name="past-exam-study"),
    path("attempts/<int:attempt_id>/", views.attempt_page, name="attempt"),
    path("attempts/<int:attempt_id>/state", views.attempt_state, name="attempt-state"),
    path("attempts/<int:attempt_id>/submit", views.attempt_submit_view, name="attempt-submit"),
    path("attempts/<int:attempt_id>/results", views.attempt_results, name="attempt-results"),
    path("attempts/<int:attempt_id>/items/<int:item_id>/save", views.item_save, name="item-save"),
    path("attempts/<int:attempt_id>/items/<int:item_id>/check", views.item_check, name="item-check"),
    path("attempts/<int:attempt_id>/items/<int:item_id>/variant", views.item_variant, name="item-variant"),
    path("attempts/<int:attempt_id>/items/<int:item_id>/reveal", views.item_reveal, name="item-reveal"),
    path("attempts/<int:attempt_id>/items/<int:item_id>/self-assess", views.item_self_assess,
         name="item-self-assess"),
    path("attempts/<int:attempt_id>/items/<int:item_id>/regrade", regrade_views.item_regrade_request,
         name="item-regrade-request"),
]
