from django.urls import path

from study import views

urlpatterns = [
    path("study/", views.study_fit, name="study-fit"),
]
