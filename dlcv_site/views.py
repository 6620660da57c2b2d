from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from dlcv_site.api import api_not_found
from dlcv_site.health import health_report
from dlcv_site.middleware import is_api_path


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 with every part's state when all are up; 503 naming the failing parts otherwise."""
    all_ok, report = health_report()
    return JsonResponse(report, status=200 if all_ok else 503, json_dumps_params={"ensure_ascii": False})


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The site's 404: JSON under ``/api/`` (an API client never gets a page to parse), the page elsewhere."""
    if is_api_path(request.path):
        return api_not_found()
    return defaults.page_not_found(request, exception)
