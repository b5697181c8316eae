"""Threadline settings: one file, every knob read from the environment.

Each variable is listed in the README with its default. The defaults are for development:
`make run` needs none of them.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name, default):
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_float(name, default):
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def env_list(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment, or set DEBUG=1 for development."
        )
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "mptt",
    # Before django_tasks_db: core's db_worker (the same worker, plus the outbox sweep)
    # takes the place of the package's own.
    "core",
    "django_tasks_db",
    "articles",
    "subscriptions",
    "comments",
    "accounts",
    "config",  # the deployment's system checks (config/checks.py)
]

MIDDLEWARE = [
    # First, so that it sees requests the SSL redirect answers too.
    "config.proxy.UntrustedProxyWarningMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Which database the request reads (the replica, or the primary), before anything
    # reads one (the session); a no-op without DATABASE_REPLICA_URL.
    "core.reads.ReadRoutingMiddleware",
    # The reader's language (cookie, then Accept-Language), before the first middleware
    # that can answer in words (a refused form); it no longer reads the session.
    "config.languages.LocaleMiddleware",
    # Before anything reads a form: one that is not UTF-8 gets a 400 saying so.
    "config.middleware.FormEncodingMiddleware",
    "config.middleware.DamagedSessionCookieMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "comments.middleware.ServiceUnavailableMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# The embedded default is a SQLite file beside manage.py; production and CI use PostgreSQL.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
# Page reads from a PostgreSQL streaming replica (core/reads.py): GET pages read from it,
# everything else and every reader with a newer page behind them from the primary. Unset:
# one database. Every connection attempt waits at most DATABASE_CONNECT_TIMEOUT seconds; a
# replica that failed is left alone for DATABASE_REPLICA_RETRY_SECONDS.
DATABASE_CONNECT_TIMEOUT = env_int("DATABASE_CONNECT_TIMEOUT", 5)
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
DATABASE_REPLICA_RETRY_SECONDS = env_float("DATABASE_REPLICA_RETRY_SECONDS", 5)
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = {
        **dj_database_url.parse(
            DATABASE_REPLICA_URL, conn_max_age=env_int("CONN_MAX_AGE", 60), conn_health_checks=True
        ),
        "TEST": {"MIRROR": "default"},  # tests read "the replica" from the test database
    }
for _database in DATABASES.values():
    if _database["ENGINE"].endswith("postgresql"):
        _database.setdefault("OPTIONS", {})["connect_timeout"] = DATABASE_CONNECT_TIMEOUT
DATABASE_ROUTERS = ["core.reads.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Covering indexes (INCLUDE) are a PostgreSQL speed-up; SQLite just builds them plainly.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]

# The cache is an optimisation: with Redis down, hanging or full, the "default" cache misses
# and drops writes (pages render uncached), and the rate limit, which keeps its counters in
# the "rate_limit" cache (the same Redis), sees the error and fails in the direction
# COMMENTS_RATE_LIMIT_FAIL_OPEN names. Every command waits at most REDIS_SOCKET_TIMEOUT;
# after an error, Redis is left alone for REDIS_RETRY_SECONDS (config/cache.py).
REDIS_URL = os.environ.get("REDIS_URL", "")
REDIS_SOCKET_TIMEOUT = env_float("REDIS_SOCKET_TIMEOUT", 0.5)
REDIS_RETRY_SECONDS = env_float("REDIS_RETRY_SECONDS", 5)
if REDIS_SOCKET_TIMEOUT <= 0:
    raise ImproperlyConfigured("REDIS_SOCKET_TIMEOUT must be a number of seconds above 0.")
if REDIS_URL:
    _redis_cache = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "threadline",
        "OPTIONS": {
            "SOCKET_CONNECT_TIMEOUT": REDIS_SOCKET_TIMEOUT,
            "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT,
            "REDIS_CLIENT_CLASS": "config.cache.PausingRedis",
        },
    }
    CACHES = {
        "default": {
            **_redis_cache,
            "OPTIONS": {**_redis_cache["OPTIONS"], "IGNORE_EXCEPTIONS": True},
        },
        "rate_limit": _redis_cache,
    }
else:
    # One store under two names, as with Redis: clearing the cache clears the counters too.
    _local_cache = {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "threadline",
    }
    CACHES = {"default": _local_cache, "rate_limit": _local_cache}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_ENGINE = "config.sessions"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# The site's language: pages for readers whose browser asks for none we have, and mail.
# Readers choose theirs with the footer's switch (a cookie) or their browser's
# Accept-Language; README "Languages" says how to add one.
LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "en")
LANGUAGES = [("en", "English"), ("fr", "French")]
LOCALE_PATHS = [BASE_DIR / "locale"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
WHITENOISE_USE_FINDERS = DEBUG
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Background work: Django's Tasks API on django-tasks-db, whose queue is a table in this
# database, in every environment (tests included). `make worker` (manage.py db_worker) runs
# the tasks; several workers, on several machines, share the queue (SELECT ... SKIP LOCKED).
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

# Mail: every message the app sends (notifications, password resets) is only written to the
# outbox by the "default" mailer, in the transaction of what it tells of; a worker sends it
# through "outgoing" (core/outbox.py). Printed to the console in development (by the worker
# `make run` starts), sent by SMTP (EMAIL_* variables) otherwise.
_mail_backend = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
_email_timeout = env_float("EMAIL_TIMEOUT", 10)
if _email_timeout <= 0:
    raise ImproperlyConfigured("EMAIL_TIMEOUT must be a number of seconds above 0.")
MAILERS = {
    "default": {"BACKEND": "core.outbox.OutboxBackend"},
    "outgoing": {
        "BACKEND": _mail_backend,
        "OPTIONS": (
            {
                "host": os.environ.get("EMAIL_HOST", "localhost"),
                "port": env_int("EMAIL_PORT", 587),
                "username": os.environ.get("EMAIL_HOST_USER", ""),
                "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
                "use_tls": env_bool("EMAIL_USE_TLS", True),
                # Seconds any one wait on the server may take (connecting, each reply).
                "timeout": _email_timeout,
            }
            if _mail_backend.endswith("smtp.EmailBackend")
            else {}
        ),
    },
}
# Seconds to wait before each retry of a message that could not be sent; one attempt more
# than there are delays, then the message is given up (state "failed", logged).
MAIL_RETRY_DELAYS = [
    int(delay)
    for delay in env_list("MAIL_RETRY_DELAYS", ["60", "300", "1800", "7200", "21600", "43200"])
]
if any(delay < 0 for delay in MAIL_RETRY_DELAYS):
    raise ImproperlyConfigured("MAIL_RETRY_DELAYS must be seconds, none below 0.")
# How often each worker looks for mail whose delivery task was lost (a worker killed in
# the middle of one) and queues it again.
MAIL_SWEEP_SECONDS = env_float("MAIL_SWEEP_SECONDS", 60)
if MAIL_SWEEP_SECONDS <= 0:
    raise ImproperlyConfigured("MAIL_SWEEP_SECONDS must be a number of seconds above 0.")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "threadline@localhost")
# Days a link to confirm an email address works (subscriptions/tokens.py).
MAIL_CONFIRM_DAYS = env_int("MAIL_CONFIRM_DAYS", 3)
if MAIL_CONFIRM_DAYS < 1:
    raise ImproperlyConfigured("MAIL_CONFIRM_DAYS must be a whole number of days, at least 1.")
# The hour (0-23, in TIME_ZONE) from which a worker queues the day's digests (core/daily.py).
MAIL_DIGEST_HOUR = env_int("MAIL_DIGEST_HOUR", 7)
if not 0 <= MAIL_DIGEST_HOUR <= 23:
    raise ImproperlyConfigured("MAIL_DIGEST_HOUR must be an hour from 0 to 23.")

# Security headers. Everything is served from this origin; inline script or style needs a nonce.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
    if env_bool("SECURE_PROXY_SSL_HEADER", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# Each process keeps nh3's answers for the stored HTML it draws (core/markup.py), up to
# this many bytes; 0 keeps none.
MARKUP_CACHE_BYTES = env_int("MARKUP_CACHE_BYTES", 16 * 1024 * 1024)

# Discussion behaviour.
COMMENTS_ALLOW_ANONYMOUS = env_bool("COMMENTS_ALLOW_ANONYMOUS", True)
COMMENTS_MAX_LENGTH = env_int("COMMENTS_MAX_LENGTH", 10_000)
COMMENTS_EDIT_WINDOW_MINUTES = env_int("COMMENTS_EDIT_WINDOW_MINUTES", 15)
COMMENTS_PAGE_THREADS = env_int("COMMENTS_PAGE_THREADS", 50)
COMMENTS_PAGE_MAX = env_int("COMMENTS_PAGE_MAX", 500)
COMMENTS_MAX_DEPTH = env_int("COMMENTS_MAX_DEPTH", 10)
COMMENTS_CACHE_SECONDS = env_int("COMMENTS_CACHE_SECONDS", 24 * 3600)
# Later pages ("Load more"): one entry per thread a page can start after, so a shorter life.
COMMENTS_PAGE_CACHE_SECONDS = env_int("COMMENTS_PAGE_CACHE_SECONDS", 600)
# Moderation: "none" publishes at once, "all" holds every comment, "anonymous" holds those
# from readers without an account. Articles can override it.
COMMENTS_MODERATION = os.environ.get("COMMENTS_MODERATION", "none")
COMMENTS_CLOSE_AFTER_DAYS = env_int("COMMENTS_CLOSE_AFTER_DAYS", 0)  # 0: never
# Reports (comments/reports.py): a comment is hidden when its open reports weigh
# COMMENTS_FLAG_THRESHOLD. An editor's weighs the whole threshold; an account older than
# COMMENTS_FLAG_TRUSTED_AGE_DAYS with an approved comment weighs 1; any other weighs 0.
COMMENTS_FLAG_THRESHOLD = env_int("COMMENTS_FLAG_THRESHOLD", 3)
COMMENTS_FLAG_TRUSTED_AGE_DAYS = env_int("COMMENTS_FLAG_TRUSTED_AGE_DAYS", 7)
COMMENTS_MODERATOR_EMAILS = env_list("COMMENTS_MODERATOR_EMAILS", [])
# A daily mail to editors (and COMMENTS_MODERATOR_EMAILS) summing up the moderation queue,
# on days it is not empty (comments/digests.py).
COMMENTS_MODERATOR_DIGEST = env_bool("COMMENTS_MODERATOR_DIGEST", False)
# Spam and flood defences; each has an "off" value for load tests.
COMMENTS_HONEYPOT = env_bool("COMMENTS_HONEYPOT", True)
COMMENTS_MIN_SUBMIT_SECONDS = env_int("COMMENTS_MIN_SUBMIT_SECONDS", 3)  # 0: off
COMMENTS_RATE_LIMIT = os.environ.get("COMMENTS_RATE_LIMIT", "5/m")  # "off" to disable
# Previews per IP address and per account, counted apart from posts; "off" to disable.
COMMENTS_PREVIEW_RATE_LIMIT = os.environ.get("COMMENTS_PREVIEW_RATE_LIMIT", "20/m")
# With the rate-limit counters out of reach (Redis down): let posts through to the other
# defences (open), or refuse every post until Redis is back (closed). README: why open.
COMMENTS_RATE_LIMIT_FAIL_OPEN = env_bool("COMMENTS_RATE_LIMIT_FAIL_OPEN", True)
COMMENTS_MAX_LINKS = env_int("COMMENTS_MAX_LINKS", 5)  # 0: no limit
# Votes and order (README "Votes and order"). Orders: best, top, newest, oldest, controversial.
COMMENTS_DEFAULT_ORDER = os.environ.get("COMMENTS_DEFAULT_ORDER", "oldest")
COMMENTS_ANONYMOUS_VOTES = env_bool("COMMENTS_ANONYMOUS_VOTES", False)  # weaker: README
COMMENTS_VOTE_RATE_LIMIT = os.environ.get("COMMENTS_VOTE_RATE_LIMIT", "60/m")
# Cached pages show new scores at most this many seconds late (the voter's own at once).
COMMENTS_SCORE_REFRESH_SECONDS = env_int("COMMENTS_SCORE_REFRESH_SECONDS", 30)
# An open article page asks this often whether comments were added (0: it never asks).
COMMENTS_LIVE_POLL_SECONDS = env_int("COMMENTS_LIVE_POLL_SECONDS", 15)
COMMENTS_REFUSE_DUPLICATES = env_bool("COMMENTS_REFUSE_DUPLICATES", True)
COMMENTS_BLOCKED_WORDS = env_list("COMMENTS_BLOCKED_WORDS", [])  # held for moderation
COMMENTS_LOCK_TIMEOUT_MS = env_int("COMMENTS_LOCK_TIMEOUT_MS", 5000)  # wait for a thread's lock
# Names a reader without an account may not sign with, nor an account take at sign-up (nor
# look-alikes of them, nor names with one of them as a word): core/names.py.
COMMENTS_RESERVED_NAMES = env_list(
    "COMMENTS_RESERVED_NAMES",
    ["admin", "administrator", "editor", "moderator", "staff", "threadline"],
)
# Behind a reverse proxy: how many proxies append to X-Forwarded-For (0: trust none and use
# the connection's address). Rate limits, bans and reports key on the poster's address.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
# Log-in and sign-up throttles (accounts/throttle.py), "COUNT/WINDOW" or "off": failed
# log-ins per account and per address, accounts created per address.
ACCOUNTS_LOGIN_FAILURE_LIMIT = os.environ.get("ACCOUNTS_LOGIN_FAILURE_LIMIT", "10/15m")
ACCOUNTS_SIGNUP_LIMIT = os.environ.get("ACCOUNTS_SIGNUP_LIMIT", "3/h")
# The site's own address, for links in emails.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
