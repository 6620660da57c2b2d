"""The Celery app. Workers: ``celery -A dlcv_site worker -Q numeric,code``."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dlcv_site.settings")

app = Celery("dlcv_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
# grader/tasks.py is the one door from Celery into the grader core.
app.autodiscover_tasks(["grader"])
