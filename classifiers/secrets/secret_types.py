"""The type names a secrets finding can carry. Part of the public contract: policies and
corpora refer to these strings, so they never change meaning."""

from __future__ import annotations

# These are type names, not credentials: ruff's S105 mistakes *_TOKEN/*_KEY names for passwords.
AWS_ACCESS_KEY_ID = "AWS_ACCESS_KEY_ID"
AWS_SECRET_ACCESS_KEY = "AWS_SECRET_ACCESS_KEY"  # noqa: S105 - a type name
GITHUB_TOKEN = "GITHUB_TOKEN"  # noqa: S105 - a type name
GITLAB_TOKEN = "GITLAB_TOKEN"  # noqa: S105 - a type name
SLACK_TOKEN = "SLACK_TOKEN"  # noqa: S105 - a type name
SLACK_WEBHOOK = "SLACK_WEBHOOK"
STRIPE_KEY = "STRIPE_KEY"
OPENAI_API_KEY = "OPENAI_API_KEY"
ANTHROPIC_API_KEY = "ANTHROPIC_API_KEY"
GOOGLE_API_KEY = "GOOGLE_API_KEY"
GCP_SERVICE_ACCOUNT = "GCP_SERVICE_ACCOUNT"
PRIVATE_KEY = "PRIVATE_KEY"
JWT = "JWT"
DATABASE_URL = "DATABASE_URL"
AZURE_CONNECTION_STRING = "AZURE_CONNECTION_STRING"
TWILIO_KEY = "TWILIO_KEY"
SENDGRID_API_KEY = "SENDGRID_API_KEY"
NPM_TOKEN = "NPM_TOKEN"  # noqa: S105 - a type name
PYPI_TOKEN = "PYPI_TOKEN"  # noqa: S105 - a type name
HUGGINGFACE_TOKEN = "HUGGINGFACE_TOKEN"  # noqa: S105 - a type name
VAULT_TOKEN = "VAULT_TOKEN"  # noqa: S105 - a type name
DISCORD_TOKEN = "DISCORD_TOKEN"  # noqa: S105 - a type name
BASIC_AUTH_URL = "BASIC_AUTH_URL"
PASSWORD_ASSIGNMENT = "PASSWORD_ASSIGNMENT"  # noqa: S105 - a type name
PASSWORD_IN_PROSE = "PASSWORD_IN_PROSE"  # noqa: S105 - a type name
MEMORY_SERVICE_KEY = "MEMORY_SERVICE_KEY"
HIGH_ENTROPY_STRING = "HIGH_ENTROPY_STRING"
# Formats only detect-secrets knows; reported under their own names rather than hidden in the
# generic entropy type, so a policy can tell them apart.
MAILCHIMP_API_KEY = "MAILCHIMP_API_KEY"
TELEGRAM_BOT_TOKEN = "TELEGRAM_BOT_TOKEN"  # noqa: S105 - a type name
SQUARE_OAUTH_SECRET = "SQUARE_OAUTH_SECRET"  # noqa: S105 - a type name

SECRET_TYPES = frozenset(
    {
        AWS_ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY,
        GITHUB_TOKEN,
        GITLAB_TOKEN,
        SLACK_TOKEN,
        SLACK_WEBHOOK,
        STRIPE_KEY,
        OPENAI_API_KEY,
        ANTHROPIC_API_KEY,
        GOOGLE_API_KEY,
        GCP_SERVICE_ACCOUNT,
        PRIVATE_KEY,
        JWT,
        DATABASE_URL,
        AZURE_CONNECTION_STRING,
        TWILIO_KEY,
        SENDGRID_API_KEY,
        NPM_TOKEN,
        PYPI_TOKEN,
        HUGGINGFACE_TOKEN,
        VAULT_TOKEN,
        DISCORD_TOKEN,
        BASIC_AUTH_URL,
        PASSWORD_ASSIGNMENT,
        PASSWORD_IN_PROSE,
        MEMORY_SERVICE_KEY,
        HIGH_ENTROPY_STRING,
        MAILCHIMP_API_KEY,
        TELEGRAM_BOT_TOKEN,
        SQUARE_OAUTH_SECRET,
    }
)
