"""Assay settings: one module, driven by the environment.

Unset variables give the *embedded default*: SQLite, a local key file, the
local file vault and a Celery worker on kombu's filesystem transport, all
under ``ASSAY_DATA_DIR``. ``ASSAY_ENV=production`` switches on the hardened
transport settings and refuses to start without its secrets.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from assay.env import env_bool, env_choice, env_int, env_list, env_str
from assay.observability import logging_config

# Everything this process writes (database file, keys, vault objects, scratch) is for its owner only.
os.umask(0o077)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("ASSAY_DATA_DIR", str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)

ASSAY_ENV = env_choice("ASSAY_ENV", ("embedded", "production"), "embedded")
PRODUCTION = ASSAY_ENV == "production"
if PRODUCTION and DATA_DIR.stat().st_mode & 0o077:
    raise ImproperlyConfigured(f"ASSAY_DATA_DIR {DATA_DIR} is readable or writable by other users; "
                               "chmod 700 it (it holds keys and case data)")
DEBUG = env_bool("ASSAY_DEBUG", default=False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("ASSAY_DEBUG must be off when ASSAY_ENV=production")


def _embedded_secret_key() -> str:
    """A per-installation key kept beside the data, created 0600 on first run."""
    path = DATA_DIR / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(64))
    return path.read_text().strip()


def weak_secret_key(key: str) -> bool:
    """Django's own test for a key an attacker could guess (security.W009), plus words a person types."""
    return (len(key) < 50 or len(set(key)) < 5 or key.startswith("django-insecure-")
            or any(word in key.lower() for word in ("changeme", "change-me", "not-a-secret", "secret-key", "example")))


SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY (or SECRET_KEY_FILE) is required when ASSAY_ENV=production")
    SECRET_KEY = _embedded_secret_key()
elif PRODUCTION and weak_secret_key(SECRET_KEY):
    raise ImproperlyConfigured("SECRET_KEY is weak: use at least 50 random characters "
                               "(python -c 'import secrets; print(secrets.token_urlsafe(60))')")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is required when ASSAY_ENV=production")
if PRODUCTION and "*" in ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must name the portal's hosts when ASSAY_ENV=production, not '*'")
# The portal's public base URL: reports print "<this>/verify/?id=…" (and its QR code), emails link here.
# Production without it: the first allowed host over HTTPS, never a loopback address printed on a report.
_PUBLIC_URL_DEFAULT = f"https://{ALLOWED_HOSTS[0]}" if PRODUCTION else "http://127.0.0.1:8000"
ASSAY_PUBLIC_URL = (env_str("ASSAY_PUBLIC_URL", _PUBLIC_URL_DEFAULT) or _PUBLIC_URL_DEFAULT).rstrip("/")
# The name e-mails are signed with (never the host and port the request happened to arrive on).
ASSAY_SITE_NAME = env_str("ASSAY_SITE_NAME", "Assay") or "Assay"
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "csp",
    "intake",
    "intake.vault",
    "triage",
    "reviews",
]

MIDDLEWARE = [
    "assay.observability.RequestObservabilityMiddleware",  # request id, access log, request metrics
    "assay.operational.OperationalEndpointsMiddleware",  # /healthz /readyz /metrics, ahead of host checks
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "intake.middleware.NoStoreWhenAuthenticatedMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "intake.middleware.RateLimitedMiddleware",
    "intake.middleware.StaffIdleTimeoutMiddleware",
    "intake.middleware.MfaRequiredMiddleware",
    "intake.middleware.ApiJsonErrorsMiddleware",
    "intake.middleware.HtmxSessionExpiryMiddleware",
]

ROOT_URLCONF = "assay.urls"
WSGI_APPLICATION = "assay.wsgi.application"
AUTH_USER_MODEL = "intake.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
_default_db = f"sqlite:///{DATA_DIR / 'assay.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(env_str("DATABASE_URL", _default_db), conn_max_age=60)}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions serialise writers up front, so a read-then-write
    # (state transitions, the audit chain head) cannot interleave on SQLite.
    _db["CONN_MAX_AGE"] = 0
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
    # A file, not :memory:, so a real Celery worker process can share it in tests.
    _db["TEST"] = {"NAME": str(DATA_DIR / f"test_assay_{os.getpid()}.sqlite3")}
else:
    # A pooled connection the server (or a failover, or a proxy) dropped is replaced before use, not failed on.
    _db["CONN_HEALTH_CHECKS"] = True
    # Unique per test process so concurrent runs on one server never collide.
    _db["TEST"] = {"NAME": env_str("ASSAY_TEST_DB_NAME", f"test_assay_{os.getpid()}")}
if PRODUCTION and _db["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL when ASSAY_ENV=production")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (rate limits need a cache shared by every process) ---------------
_cache_url = env_str("ASSAY_CACHE_URL", env_str("REDIS_URL"))
if _cache_url:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url,
                          "KEY_PREFIX": env_str("ASSAY_CACHE_PREFIX", "assay")}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "assay_cache"}}
# With a shared cache, sessions are read from it and written through to the database: every portal request
# (the 2 s htmx status poll included) skips the session query, and a cache restart loses no session.
SESSION_ENGINE = ("django.contrib.sessions.backends.cached_db" if _cache_url
                  else "django.contrib.sessions.backends.db")

# --- Celery -----------------------------------------------------------------
BROKER_DIR = DATA_DIR / "broker"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {"data_folder_in": str(BROKER_DIR / "queue"), "data_folder_out": str(BROKER_DIR / "queue"),
     "processed_folder": str(BROKER_DIR / "processed"), "store_processed": False,
     # exchange tables: kombu's default is ./control in whatever directory the process started in
     "control_folder": str(BROKER_DIR / "control")}
    if CELERY_BROKER_URL.startswith("filesystem")
    else {"visibility_timeout": 3600}
)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
if CELERY_BROKER_URL.startswith("filesystem"):
    for _folder in ("queue", "processed", "control"):
        (BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True, mode=0o700)
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = env_str("ASSAY_CELERY_QUEUE", "assay")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
# Safety nets that make tasks recoverable; apps add their own entries (the vault adds its retention sweep).
CELERY_BEAT_SCHEDULE = {
    # every 30 s: a run whose worker died restarts within two minutes (triage/leases.py)
    "triage-requeue-stale": {"task": "triage.tasks.triage_requeue_stale", "schedule": 30.0},
}

# --- Auth and accounts ------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True
ACCOUNT_ADAPTER = "intake.accounts.adapter.AssayAccountAdapter"
ACCOUNT_RATE_LIMITS = {"login_failed": "5/5m/ip,5/5m/key", "signup": "20/h/ip", "confirm_email": "3/m/key"}
LOGIN_REDIRECT_URL = "/dashboard/"
LOGIN_URL = "/accounts/login/"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Assay"
MFA_ADAPTER = "intake.accounts.adapter.AssayMFAAdapter"

EMAIL_BACKEND = env_str("ASSAY_EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = str(DATA_DIR / "mail")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "assay@localhost")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)

# --- API --------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "intake.api_auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "intake.api_errors.assay_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["intake.jsonlimits.BoundedJSONParser", "rest_framework.parsers.MultiPartParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Assay API",
    "DESCRIPTION": "Confidential assurance intake for AI agent systems.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from our own static files: the CSP allows scripts from 'self' only.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# --- Rate limits and quotas -------------------------------------------------
RATELIMIT_VIEW = "intake.views.ratelimited"
RATELIMIT_ENABLE = env_bool("ASSAY_RATELIMIT", default=True)
# Reverse proxies in front of the app; per-address limits read the client from X-Forwarded-For.
ALLAUTH_TRUSTED_PROXY_COUNT = env_int("ASSAY_TRUSTED_PROXY_COUNT", 0, minimum=0)
ASSAY_OPEN_CASE_QUOTA = {0: 1, 1: 3, 2: 10, 3: 25}  # by identity assurance level

# --- Uploads ----------------------------------------------------------------
ASSAY_MAX_ARTIFACT_BYTES = env_int("ASSAY_MAX_ARTIFACT_BYTES", 256 * 1024 * 1024, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_TEMP_DIR = str(DATA_DIR / "upload-tmp")
Path(FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True, mode=0o700)
FILE_UPLOAD_PERMISSIONS = 0o600
# Large uploads spool to disk encrypted under a per-upload in-memory key, never in clear (intake.vault.uploads).
FILE_UPLOAD_HANDLERS = [
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "intake.vault.uploads.EncryptedTemporaryFileUploadHandler",
]

# --- Vault, keys, signing, sandbox -----------------------------------------
ASSAY_VAULT = env_str("ASSAY_VAULT", f"file://{DATA_DIR / 'vault'}")
ASSAY_KEY_PROVIDER = env_str("ASSAY_KEY_PROVIDER", f"local:{DATA_DIR / 'keys' / 'kek'}")
ASSAY_SIGNING_KEY = env_str("ASSAY_SIGNING_KEY", str(DATA_DIR / "keys" / "signing-ed25519.pem"))
# The audit chain's HMAC keys (intake/audit_keys.py), wrapped by ASSAY_KEY_PROVIDER's KEK; never in the database.
# Every web pod and worker must read the same file: production deployments point it at shared storage or a
# mounted secret (infra/), since the data dir is per pod.
ASSAY_AUDIT_KEY = env_str("ASSAY_AUDIT_KEY", str(DATA_DIR / "keys" / "audit-keys.json"))
# The shred ledger (intake/vault/ledger.py): a directory kept apart from the database and the vault, so a restore
# from an older backup can re-destroy every key shredded since. Production: separate, append-only storage.
ASSAY_SHRED_LEDGER = env_str("ASSAY_SHRED_LEDGER", str(DATA_DIR / "shred-ledger"))
# A reported case closes when its builder acknowledges the report, or this many days after it was issued (the
# retention sweep closes it); its retention clock then runs from the report's expiry, as the terms say.
ASSAY_REPORTED_CLOSE_DAYS = env_int("ASSAY_REPORTED_CLOSE_DAYS", 30, minimum=1)
# The builder is told this many days before retention shreds a case (by the retention sweep).
ASSAY_RETENTION_WARN_DAYS = env_int("ASSAY_RETENTION_WARN_DAYS", 7, minimum=1)
# The largest file a builder may attach to an IP dispute as evidence (stored encrypted in the vault).
ASSAY_MAX_DISPUTE_EVIDENCE_BYTES = env_int("ASSAY_MAX_DISPUTE_EVIDENCE_BYTES", 25 * 1024 * 1024, minimum=1)
ASSAY_SANDBOX = env_choice("ASSAY_SANDBOX", ("auto", "gvisor", "bubblewrap", "none"), "auto")
# Run submitted MCP servers in the sandbox during triage (triage/dynamic); off unless the operator opts in.
ASSAY_DYNAMIC_TRIAGE = env_bool("ASSAY_DYNAMIC_TRIAGE", default=False)
# Optional model-in-the-loop probes of the dynamic stage: an OpenAI-compatible base URL and model; unset = off.
# Optional model-assisted note on triage results (off unless a URL is set). It advises humans only.
ASSAY_NOTE_MODEL_URL = env_str("ASSAY_NOTE_MODEL_URL", "")  # e.g. https://api.example/v1
ASSAY_NOTE_MODEL_API = env_choice("ASSAY_NOTE_MODEL_API", ("openai", "anthropic"), "openai")
ASSAY_NOTE_MODEL = env_str("ASSAY_NOTE_MODEL", "")
ASSAY_NOTE_MODEL_KEY = env_str("ASSAY_NOTE_MODEL_KEY", "")  # or ASSAY_NOTE_MODEL_KEY_FILE
ASSAY_NOTE_MODEL_TIMEOUT = env_int("ASSAY_NOTE_MODEL_TIMEOUT", 30, minimum=1)
ASSAY_PROBE_MODEL_URL = env_str("ASSAY_PROBE_MODEL_URL", "")
ASSAY_PROBE_MODEL = env_str("ASSAY_PROBE_MODEL", "")
ASSAY_PROBE_MODEL_KEY = env_str("ASSAY_PROBE_MODEL_KEY", "")  # or ASSAY_PROBE_MODEL_KEY_FILE

# --- Static files, i18n -----------------------------------------------------
STATIC_URL = "/static/"
# Images collect static files at build time outside the (writable, per-pod) data dir: ASSAY_STATIC_ROOT.
STATIC_ROOT = Path(env_str("ASSAY_STATIC_ROOT", str(DATA_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Security headers -------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 8 * 3600
# Reviewers, coordinators and admin staff are signed out after this long without activity (seconds).
ASSAY_STAFF_IDLE_TIMEOUT = env_int("ASSAY_STAFF_IDLE_TIMEOUT", 30 * 60, minimum=60)
CSRF_COOKIE_HTTPONLY = True
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("ASSAY_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("ASSAY_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"

# --- Logging and metrics -----------------------------------------------------
# JSON lines with request ids, secrets redacted (assay.observability); plain text in the embedded default.
ASSAY_LOG_FORMAT = env_choice("ASSAY_LOG_FORMAT", ("json", "plain"), "json" if PRODUCTION else "plain")
LOGGING = logging_config(
    level=env_str("ASSAY_LOG_LEVEL", "INFO"), json_lines=ASSAY_LOG_FORMAT == "json")
# Workers keep Django's handlers (JSON, redaction) instead of Celery's own when logs are JSON.
CELERY_WORKER_HIJACK_ROOT_LOGGER = ASSAY_LOG_FORMAT != "json"
# /metrics needs "Authorization: Bearer <token>" when set; unset, only direct loopback clients are served.
ASSAY_METRICS_TOKEN = env_str("ASSAY_METRICS_TOKEN", "")
