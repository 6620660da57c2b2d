import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dlcv_site.settings")
application = get_wsgi_application()

# Imports, templates and translations now, not on the first students' requests: with gunicorn
# --preload the forked workers share them.
from dlcv_site.warmup import freeze_heap, warm_up  # noqa: E402

warm_up(application)
freeze_heap()
