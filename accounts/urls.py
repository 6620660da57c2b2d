from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import token_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(template_name="accounts/login.html"), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/tokens/", token_views.tokens, name="account-tokens"),
    path("instructor/", views.instructor_home, name="instructor-home"),
    path("instructor/courses/<slug:course_slug>/", views.instructor_course, name="instructor-course"),
]
