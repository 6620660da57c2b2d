"""A student's grade page (included at the site root)."""

from django.urls import URLPattern, path

from grades import views

urlpatterns: list[URLPattern] = [
    path("courses/<slug:course_slug>/grades/", views.my_grades, name="my-grades"),
]
