import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dlcv_site.settings")
application = get_wsgi_application()

# Import the grader core and the quiz presenters now, not on the first student's request: with
# gunicorn --preload the forked workers share them, and nobody waits ~0.5 s for imports mid-exam.
import quizzes.presenters  # noqa: E402, F401
