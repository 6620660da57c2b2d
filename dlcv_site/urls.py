from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from dlcv_site import views

handler400 = views.bad_request
handler403 = views.permission_denied
handler404 = views.not_found
handler500 = views.server_error

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its script as a file: the Content-Security-Policy allows no inline scripts.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api_docs.html"),
         name="api-docs"),
    path("api/", include("dlcv_site.api_urls")),
    path("instructor/courses/<slug:course_slug>/", include("quizzes.instructor_urls")),
    path("instructor/courses/<slug:course_slug>/", include("labs.instructor_urls")),
    path("instructor/courses/<slug:course_slug>/", include("grades.instructor_urls")),
    path("instructor/courses/<slug:course_slug>/", include("progress.instructor_urls")),
    path("", include("progress.urls")),
    path("instructor/courses/<slug:course_slug>/", include("study.instructor_urls")),
    path("", include("quizzes.urls")),
    path("", include("study.urls")),
    path("", include("labs.urls")),
    path("", include("grades.urls")),
    path("", include("accounts.urls")),
    path("", include("lti.urls")),
]
