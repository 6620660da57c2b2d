"""Instructor pages, included under ``instructor/courses/<slug:course_slug>/`` (every view takes course_slug)."""

from django.urls import URLPattern, path

from quizzes import analysis_views, grading_views
from quizzes import instructor_views as views

urlpatterns: list[URLPattern] = [
    path("bank/", views.bank_list, name="instructor-bank"),
    path("bank/new/", views.question_new, name="instructor-question-new"),
    path("bank/download.zip", views.bank_download, name="instructor-bank-download"),
    path("bank/exchange/", views.bank_exchange, name="instructor-bank-exchange"),
    path("bank/sync/", views.bank_sync_page, name="instructor-bank-sync"),
    path("bank/sync/<slug:bank_id>/resolve/", views.bank_conflict_resolve_view, name="instructor-bank-conflict-resolve"),
    path("bank/preview/", views.question_preview_api, name="instructor-question-preview"),
    path("questions/<slug:bank_id>/", views.question_detail, name="instructor-question"),
    path("questions/<slug:bank_id>/analysis/", analysis_views.question_analysis_view,
         name="instructor-question-analysis"),
    path("questions/<slug:bank_id>/edit/", views.question_edit, name="instructor-question-edit"),
    path("questions/<slug:bank_id>/source.md", views.question_download, name="instructor-question-download"),
    path("assessments/", views.assessment_list, name="instructor-assessments"),
    path("assessments/new/", views.assessment_new, name="instructor-assessment-new"),
    path("assessments/<int:assessment_id>/", views.assessment_detail, name="instructor-assessment"),
    path("assessments/<int:assessment_id>/analysis/", analysis_views.assessment_analysis_view,
         name="instructor-assessment-analysis"),
    path("assessments/<int:assessment_id>/analysis.csv", analysis_views.assessment_analysis_csv_view,
         name="instructor-assessment-analysis-csv"),
    path("assessments/<int:assessment_id>/items/", views.assessment_item_add_view,
         name="instructor-assessment-item-add"),
    path("assessments/<int:assessment_id>/items/<int:item_id>/move/", views.assessment_item_move_view,
         name="instructor-assessment-item-move"),
    path("assessments/<int:assessment_id>/items/<int:item_id>/remove/", views.assessment_item_remove_view,
         name="instructor-assessment-item-remove"),
    path("assessments/<int:assessment_id>/extensions/", views.extension_set_view,
         name="instructor-assessment-extension"),
    path("assessments/<int:assessment_id>/release/", views.assessment_release_view,
         name="instructor-assessment-release"),
    path("grading/", grading_views.grading_queue_view, name="instructor-grading-queue"),
    path("grading/anonymous/", grading_views.grading_anonymous_view, name="instructor-grading-anonymous"),
    path("grading/<int:item_id>/", grading_views.grading_item_view, name="instructor-grading-item"),
    path("grading/questions/<int:question_id>/", grading_views.grading_question_view,
         name="instructor-grading-question"),
    path("grading/questions/<int:question_id>/rubric/", grading_views.rubric_view, name="instructor-grading-rubric"),
    path("grading/questions/<int:question_id>/rubric/seed/", grading_views.rubric_seed_view,
         name="instructor-grading-rubric-seed"),
]
