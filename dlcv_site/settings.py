"""The one settings module. Everything that differs between machines comes from the environment.

No variables set → embedded defaults for one machine: a SQLite file in ``var/``, a Celery broker on
the local filesystem (``make run`` starts the worker), and a secret key generated once into ``var/``.
``DATABASE_URL=postgres://…`` and ``REDIS_URL=redis://…`` switch to PostgreSQL and Redis, with
separate ``celery worker`` processes — the same code, scaled past one machine.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
import dj_email_url
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("DLCV_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def _local_secret_key() -> str:
    """A per-checkout secret kept in var/, so local sessions survive restarts without a shared key."""
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY") or _local_secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "accounts",
    "quizzes",
    "labs",
    "grades",
    # LTI 1.3: django-lti's registration, deployment, context, resource-link and key models (lti_tool),
    # and the app that launches, enrols and sends grades (lti/).
    "lti_tool",
    "lti",
    "progress",
    "study",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "dlcv_site.i18n.QueryLanguageMiddleware",  # ?lang= for one request (after LocaleMiddleware)
    "dlcv_site.middleware.ChunkedBodyMiddleware",  # 411 before anything reads a body it cannot see
    "dlcv_site.middleware.SiteCommonMiddleware",  # Django's CommonMiddleware, no slash redirects under /api/
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a login lockout into accounts.lockout.lockout_response
]

ROOT_URLCONF = "dlcv_site.urls"
WSGI_APPLICATION = "dlcv_site.wsgi.application"
ASGI_APPLICATION = "dlcv_site.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database ---------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "").strip()
if DATABASE_URL:
    # Persistent connections, checked before reuse. A new PostgreSQL session costs its request ~6 ms
    # (connect, authenticate, a backend whose caches start cold: an exam start's 3 statements took
    # 7.3 ms on a new connection, 1.3 ms on a used one), so each thread keeps its own for
    # DB_CONN_MAX_AGE seconds. With 60, every web thread reconnected once a minute, in an exam's
    # busiest minute as well.
    DB_CONN_MAX_AGE = int(os.environ.get("DB_CONN_MAX_AGE", "600"))
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=DB_CONN_MAX_AGE,
                                                  conn_health_checks=True)}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            # The web server and the worker write to the same file: wait for locks instead of failing,
            # and take the write lock up front so concurrent transactions never deadlock on upgrade.
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"},
            # A file (not :memory:) so a test Celery worker process can share the test database.
            "TEST": {"NAME": VAR_DIR / "test_db.sqlite3"},
        }
    }
DATABASE_ENGINE = "postgresql" if "postgresql" in DATABASES["default"]["ENGINE"] else "sqlite"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
# ModelBackend, with the per-request user row read by SQL compiled once (accounts/backends.py).
AUTHENTICATION_BACKENDS = ["accounts.backends.LoginLockoutBackend", "accounts.backends.UserBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# Failed logins (django-axes, accounts/lockout.py): counted in the database per account and per client
# address, each against its own limit within LOGIN_LOCKOUT_MINUTES of the last failure. An address's
# limit is high: a lecture hall behind one NAT address logs in together, typos and all (300 students
# in 2 minutes, a third of them mistyping once: accounts/tests/test_login_lockout.py); a password
# spray from one address is still stopped there, a guess at one account after a few.
LOGIN_FAILURE_LIMITS = {
    "username": int(os.environ.get("LOGIN_ACCOUNT_FAILURE_LIMIT", "10")),
    "ip_address": int(os.environ.get("LOGIN_ADDRESS_FAILURE_LIMIT", "150")),
}
LOGIN_LOCKOUT_MINUTES = int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15"))
# Reverse proxies whose X-Forwarded-For is believed (addresses or networks): dlcv_site/client_address.py.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])
AXES_HANDLER = "accounts.lockout.LoginLockoutHandler"
AXES_LOCKOUT_PARAMETERS = list(LOGIN_FAILURE_LIMITS)
AXES_FAILURE_LIMIT = max(LOGIN_FAILURE_LIMITS.values())  # the handler applies each parameter's own limit
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
# Attempts while locked out are refused without counting: one account cannot push its address's count
# past its own limit. Never reset on success either: that would clear the address's count too, and a
# sprayer could clear it with a login of their own.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = False
AXES_CLIENT_IP_CALLABLE = "dlcv_site.client_address.client_address"
AXES_USERNAME_CALLABLE = "accounts.lockout.login_username"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_DISABLE_ACCESS_LOG = True  # no row per successful login (an exam's start is hundreds of them)
AXES_VERBOSE = False  # lockouts and failures are still logged; not every start-up

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- email (invitations, password resets: accounts/services/invitations.py) ----------------------
# EMAIL_URL: smtp://user:password@host:587/?tls=True (dj-email-url). Unset: each message is written
# as a file under var/mail/ (Django's file backend; `make run` says where).
EMAIL_BACKEND = "accounts.mail.FilePerMessageBackend"
EMAIL_FILE_PATH = VAR_DIR / "mail"
if os.environ.get("EMAIL_URL"):
    globals().update({k: v for k, v in dj_email_url.parse(os.environ["EMAIL_URL"]).items() if v is not None})
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "DLCV Exam Prep <noreply@localhost>")
# An invitation's or a reset's link works once, for this long (Django's token: it changes with the password).
PASSWORD_RESET_TIMEOUT = int(os.environ.get("PASSWORD_RESET_TIMEOUT_DAYS", "7")) * 24 * 3600

# --- i18n -------------------------------------------------------------------------------------
LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "zh-hant")
LANGUAGES = [("zh-hant", "繁體中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Taipei")
USE_I18N = True
USE_TZ = True

# --- static files (served by WhiteNoise: no CDN, machines may be offline) ----------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
# /favicon.ico and the touch icons, which browsers ask for at the site's root (WhiteNoise serves them).
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Celery -----------------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "").strip()
CELERY_DATA_DIR = VAR_DIR / "celery"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"visibility_timeout": 3600}
else:
    # Embedded mode: a broker made of files in var/celery, so no Redis is needed on one machine.
    for sub in ("queue", "processed", "results", "control"):
        (CELERY_DATA_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_DATA_DIR / "queue"),
        "data_folder_out": str(CELERY_DATA_DIR / "queue"),
        "processed_folder": str(CELERY_DATA_DIR / "processed"),
        "store_processed": False,
        "polling_interval": 0.1,
        "control_folder": str(CELERY_DATA_DIR / "control"),
    }
    CELERY_RESULT_BACKEND = f"file://{CELERY_DATA_DIR / 'results'}"
BROKER_MODE = "redis" if REDIS_URL else "filesystem"
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "numeric"
# Numeric grading and sandboxed code grading never share a queue, so code labs cannot starve numbers.
GRADER_QUEUES = ["numeric", "code"]
CELERY_TASK_ROUTES = {"grader.grade_code_*": {"queue": "code"}, "grader.grade_numeric_*": {"queue": "numeric"}}
# Each grading queue's hard time limit (s): its grading task's time_limit.
GRADER_QUEUE_TIME_LIMITS = {"numeric": 30, "code": 270}
# The longest hard time limit (s) of any task that runs on each queue: the default queue also carries an
# LMS roster sync (300 s), invitations, exam preparation and the study plan's fit. A worker's Redis
# visibility timeout is sized from this (dlcv_site.worker_recovery), so no message is put back while its
# task still runs; a test holds every registered task to it.
QUEUE_LONGEST_TASK_SECONDS = {"numeric": 300, "code": 270}
CELERY_TASK_SOFT_TIME_LIMIT = int(os.environ.get("CELERY_TASK_SOFT_TIME_LIMIT", "60"))
CELERY_TASK_TIME_LIMIT = int(os.environ.get("CELERY_TASK_TIME_LIMIT", "90"))
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fixup closes the database connections before and after every task unless this is
# set: a new PostgreSQL session (connect, authenticate, cold caches) for every grading, most of
# its cost. Workers keep them like a web process does instead: dlcv_site.celery closes unusable
# and CONN_MAX_AGE-old connections around each task, and every connection after a failed task.
CELERY_DB_REUSE_MAX = 1000

HEALTHZ_WORKER_TIMEOUT = float(os.environ.get("HEALTHZ_WORKER_TIMEOUT", "5"))

# --- REST framework -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "DLCV Exam Prep API",
    "VERSION": "1.0.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # validatorUrl None: Swagger UI would otherwise fetch a badge from the internet (machines are offline).
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}
SUBMISSION_RATE = os.environ.get("SUBMISSION_RATE", "30/min")
# LTI 1.3 (lti/): how long a platform's JWKS is kept in the cache (a key id it does not hold is fetched
# again at most once per period), and the broker queue the grade passback tasks go to.
LTI_JWKS_CACHE_SECONDS = int(os.environ.get("LTI_JWKS_CACHE_SECONDS", "3600"))
LTI_QUEUE = os.environ.get("LTI_QUEUE", "numeric")
# The first wait before a score the platform refused with 429/5xx is sent again (doubling, at most 600 s;
# 50–100 % of it at random): short, as a lone 5xx is mostly a blip.
LTI_RETRY_BASE_SECONDS = float(os.environ.get("LTI_RETRY_BASE_SECONDS", "0.5"))

# CACHE_URL=redis://host:6379/2 shares the cache (and so the API throttles) across web processes.
# A database of its own: clearing a cache flushes its whole Redis database, never the broker's.
CACHE_URL = os.environ.get("CACHE_URL", "").strip()
if CACHE_URL:
    # Short socket timeouts: with Redis unreachable, pages fall back to the database at once
    # instead of hanging (sessions, throttles, the navigation and the item HTML all survive it).
    CACHES = {"default": {"BACKEND": "dlcv_site.cache.RedisCache", "LOCATION": CACHE_URL,
                          "KEY_PREFIX": "dlcv", "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Every request reads its session. With a shared cache, from the cache (the database keeps a copy
# and is written through; an unreachable cache falls back to it: dlcv_site/sessions.py); a
# per-process cache would let a logout in one process go unseen in another.
SESSION_ENGINE = "dlcv_site.sessions" if CACHE_URL else "django.contrib.sessions.backends.db"

# --- security defaults that hold in every mode ------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Scripts, styles, images and fonts from this site only, no inline script or style (templates keep
# theirs in static/: dlcv_site/tests/test_security_headers.py loads every page kind in Chromium and
# asserts no violation). data: images for Swagger UI's icons.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- HTTPS deployments: SECURE_HTTPS=1 switches on all of it ----------------------------------
# (TLS ends at the reverse proxy, which must set X-Forwarded-Proto.) Each part can be set on its own.
SECURE_HTTPS = env_bool("SECURE_HTTPS", False)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", SECURE_HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # health checks from inside the network speak plain HTTP
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000" if SECURE_HTTPS else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("SECURE_PROXY_SSL_HEADER", SECURE_HTTPS) else None
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", SECURE_HTTPS)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", SESSION_COOKIE_SECURE)
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024  # also the largest body the web front takes (deploy/nginx.conf)
# The web front (dlcv_site.front): threads per process, and how long a request body may stall (s).
WEB_THREADS = int(os.environ.get("WEB_THREADS", "4"))
REQUEST_BODY_IDLE_TIMEOUT = float(os.environ.get("REQUEST_BODY_IDLE_TIMEOUT", "10"))
REQUEST_BODY_TIMEOUT = float(os.environ.get("REQUEST_BODY_TIMEOUT", "60"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # django-axes logs every login at INFO; failures and lockouts are WARNINGs.
    "loggers": {"axes": {"level": os.environ.get("AXES_LOG_LEVEL", "WARNING")}},
}

# Test-only: seconds a grading job sleeps after claiming its row (the kill -9 reliability test).
GRADER_TEST_SLOW_SECONDS = float(os.environ.get("GRADER_TEST_SLOW_SECONDS", "0"))
# Student code runs only in the bubblewrap sandbox. "1" lets a developer without bubblewrap run
# coding labs in a plain subprocess (with a warning) — never in production.
GRADER_ALLOW_UNSANDBOXED = os.environ.get("GRADER_ALLOW_UNSANDBOXED", "") == "1"
