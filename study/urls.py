from django.urls import path

from study import views

urlpatterns = [
    path("courses/<slug:course_slug>/study/", views.study_plan, name="study-plan"),
    path("courses/<slug:course_slug>/study/review", views.study_review, name="study-review"),
    path("courses/<slug:course_slug>/study/review/<int:item_id>/check", views.review_check, name="study-review-check"),
    path("courses/<slug:course_slug>/study/readiness", views.study_readiness, name="study-readiness"),
    path("courses/<slug:course_slug>/study/rate/<slug:bank_id>", views.self_rate, name="study-self-rate"),
]
