import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dlcv_site.settings")
application = get_wsgi_application()

# Imports, templates and translations now, not on the first students' requests: gunicorn loads
# this module before it forks (dlcv_site.gunicorn_conf), so the workers share them.
from dlcv_site.warmup import freeze_heap, warm_up  # noqa: E402

warm_up(application)
freeze_heap()
