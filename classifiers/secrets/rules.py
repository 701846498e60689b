"""Our own rule table: credential formats detect-secrets lacks or matches too loosely.

Each row is data: a compiled pattern whose named group holds the secret, a type name, how
specific the rule is, and optionally a context pattern that must occur nearby and a check on the
value (from :mod:`classifiers.secrets.checks`). Adding a format means adding a row.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from classifiers.secrets import checks
from classifiers.secrets import secret_types as t
from classifiers.secrets.candidate import ASSIGNMENT, BASIC_AUTH, PROSE, SPECIFIC, URL_PASSWORD

Check = Callable[[str, "re.Match[str]"], bool]


@dataclass(frozen=True, slots=True)
class Rule:
    """One detector row. The first named group in ``groups`` that matched is the secret."""

    name: str
    type: str
    pattern: re.Pattern[str]
    groups: tuple[str, ...] = ("value",)
    score: float = 0.95
    priority: int = SPECIFIC
    context: re.Pattern[str] | None = None  # must occur within ``window`` chars of the match
    window: int = 0  # 0: anywhere in the text
    check: Check | None = None
    placeholders: bool = True  # reject values that read as stand-ins ("xxxx", "<YOUR_KEY>")
    trim: bool = False  # drop sentence punctuation a loose value class swallowed at its end


# --- patterns -----------------------------------------------------------------------------------

_B = r"(?<![A-Za-z0-9_])"  # token start: not glued to a longer identifier
_E = r"(?![A-Za-z0-9_])"
_BD = r"(?<![A-Za-z0-9_-])"
_ED = r"(?![A-Za-z0-9_-])"

# One value after an assignment operator: quoted (any characters to the quote) or bare.
_VALUE = (
    r"""(?:"(?P<dq>[^"\n]{1,512})"|'(?P<sq>[^'\n]{1,512})'|`(?P<bq>[^`\n]{1,512})`"""
    # A bare value ends at "&" only where a query string goes on ("&grant_type=..."):
    # passwords contain "&" too.
    r"""|(?P<bare>(?:[^\s"'`,;{}()\[\]<>|&]|&(?!\w+=)){1,512}))"""
)
_VALUE_GROUPS = ("dq", "sq", "bq", "bare")

_PEM = (
    r"-----BEGIN (?P<label>(?:[A-Z0-9]+ )*)PRIVATE KEY(?P<block>(?: BLOCK)?)-----"
    r"(?:\\[nr]|[A-Za-z0-9+/=:,\- \t\r\n]){32,}?"
    r"(?:-----END (?P=label)PRIVATE KEY(?P=block)-----|(?=[\"'`]|\Z))"
)

_SERVICE_ACCOUNT = re.compile(r"service_account|gserviceaccount\.com|client_x509_cert_url")

RULES: tuple[Rule, ...] = (
    Rule(
        "aws-access-key-id",
        t.AWS_ACCESS_KEY_ID,
        re.compile(
            r"(?<![A-Za-z0-9])(?P<value>(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16})" + _E
        ),
        score=0.99,
    ),
    Rule(
        "aws-secret-access-key",
        t.AWS_SECRET_ACCESS_KEY,
        re.compile(r"(?<![A-Za-z0-9/+])(?P<value>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"),
        context=re.compile(
            r"(?i)aws|secret[_ .-]?access|secretaccesskey|(?-i:A(?:KIA|SIA)[A-Z0-9]{16})"
        ),
        window=160,
        check=checks.aws_secret_key,
    ),
    Rule(
        "github-token",
        t.GITHUB_TOKEN,
        re.compile(_B + r"(?P<value>gh[pousr]_[A-Za-z0-9]{30,251})" + _E),
        score=0.99,
    ),
    Rule(
        "github-fine-grained-pat",
        t.GITHUB_TOKEN,
        re.compile(_B + r"(?P<value>github_pat_[A-Za-z0-9_]{40,255})" + _E),
        score=0.99,
    ),
    Rule(
        "gitlab-token",
        t.GITLAB_TOKEN,
        re.compile(
            _BD + r"(?P<value>(?:glpat|gldt|glft|glsoat|glrt|glcbt|glptt|glimt|glagent|gloas"
            r"|glffct|glcct|glsa)-[A-Za-z0-9_.\-]{20,300})" + _ED
        ),
        score=0.99,
        trim=True,
    ),
    Rule(
        "gitlab-runner-registration",
        t.GITLAB_TOKEN,
        re.compile(_BD + r"(?P<value>GR1348941[A-Za-z0-9_\-]{20,})" + _ED),
    ),
    Rule(
        "slack-token",
        t.SLACK_TOKEN,
        re.compile(
            _BD + r"(?P<value>xox[abposre]-[0-9A-Za-z][0-9A-Za-z-]{8,250}[0-9A-Za-z])" + _ED
        ),
        score=0.99,
    ),
    Rule(
        "slack-app-token",
        t.SLACK_TOKEN,
        re.compile(_BD + r"(?P<value>xapp-\d-[0-9A-Za-z][0-9A-Za-z-]{18,250}[0-9A-Za-z])" + _ED),
        score=0.99,
    ),
    Rule(
        "slack-webhook",
        t.SLACK_WEBHOOK,
        re.compile(
            r"(?P<value>https://hooks\.slack\.com/(?:services|workflows|triggers)/"
            r"[A-Za-z0-9_/\-]{20,200})"
        ),
        score=0.99,
        check=checks.slack_webhook,
        placeholders=False,  # the host contains no placeholder words; the check looks at the path
    ),
    Rule(
        "stripe-secret-key",
        t.STRIPE_KEY,
        re.compile(_B + r"(?P<value>(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,247})" + _E),
        score=0.99,
    ),
    Rule(
        "stripe-webhook-secret",
        t.STRIPE_KEY,
        re.compile(_B + r"(?P<value>whsec_[A-Za-z0-9+/=]{24,})" + _E),
    ),
    Rule(
        "anthropic-api-key",
        t.ANTHROPIC_API_KEY,
        re.compile(_BD + r"(?P<value>sk-ant-[A-Za-z0-9_\-]{20,300})" + _ED),
        score=0.99,
    ),
    Rule(
        "openai-project-key",
        t.OPENAI_API_KEY,
        re.compile(_BD + r"(?P<value>sk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_\-]{20,300})" + _ED),
        score=0.99,
    ),
    Rule(
        "openai-api-key",
        t.OPENAI_API_KEY,
        re.compile(_BD + r"(?P<value>sk-[A-Za-z0-9]{32,64})" + _ED),
        check=checks.mixed_token,
    ),
    Rule(
        "google-api-key",
        t.GOOGLE_API_KEY,
        re.compile(_BD + r"(?P<value>AIza[0-9A-Za-z_\-]{30,40})" + _ED),
        score=0.99,
    ),
    Rule(
        "gcp-private-key-id",
        t.GCP_SERVICE_ACCOUNT,
        re.compile(
            r"(?i)[\"']?private_key_id[\"']?\s*[:=]\s*[\"']?(?P<value>[0-9a-f]{40})(?![0-9a-f])"
        ),
        score=0.99,
        priority=SPECIFIC + 10,
    ),
    Rule(
        "gcp-service-account-key",
        t.GCP_SERVICE_ACCOUNT,
        re.compile(r"(?i)[\"']?private_key[\"']?\s*[:=]\s*[\"']?(?P<value>" + _PEM + r")"),
        score=0.99,
        priority=SPECIFIC + 10,  # the same PEM is also a PRIVATE_KEY; the account is more telling
        context=_SERVICE_ACCOUNT,
        check=checks.pem_block,
        placeholders=False,  # key bodies legitimately contain runs like "AAAAAA"
    ),
    Rule(
        "private-key",
        t.PRIVATE_KEY,
        re.compile(r"(?P<value>" + _PEM + r")"),
        score=0.99,
        check=checks.pem_block,
        placeholders=False,
    ),
    Rule(
        "putty-private-key",
        t.PRIVATE_KEY,
        re.compile(
            r"(?P<value>PuTTY-User-Key-File-\d+:[^\n]*\n(?:[^\n]*\n){0,6}?"
            r"Private-Lines:\s*\d+\s*\n[A-Za-z0-9+/=\s]{40,})"
        ),
        placeholders=False,
    ),
    Rule(
        "jwt",
        t.JWT,
        re.compile(
            _BD
            + r"(?P<value>eyJ[A-Za-z0-9_\-]{8,}\.ey[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,})"
            + _ED
        ),
        score=0.9,
    ),
    Rule(
        "database-url",
        t.DATABASE_URL,
        re.compile(
            r"(?i)(?<![A-Za-z0-9+.\-])(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?"
            r"|amqps?|mssql|sqlserver|cockroachdb|clickhouse|oracle|couchdb|neo4j(?:\+s)?"
            r"|memcached?)(?:\+[a-z0-9]+)?://(?P<user>[^:/?#@\s\"']*):(?P<value>[^@/\s\"']+)"
            r"@(?=[A-Za-z0-9\[])"
        ),
        priority=URL_PASSWORD,
        check=checks.url_password,
        placeholders=False,  # _url_password applies the placeholder test itself
    ),
    Rule(
        "jdbc-password",
        t.DATABASE_URL,
        re.compile(r"(?i)jdbc:[a-z0-9]+:[^\s\"']{0,512}?[?&;]password=(?P<value>[^&;\s\"']+)"),
        priority=URL_PASSWORD,
        check=checks.weak_credential,
    ),
    Rule(
        "basic-auth-url",
        t.BASIC_AUTH_URL,
        re.compile(
            r"(?i)(?<![A-Za-z0-9+.\-])(?:https?|ftps?|sftp|ssh|git(?:\+https?)?|smtps?|imaps?|wss?"
            r"|svn(?:\+ssh)?|ldaps?)://(?P<user>[^:/?#@\s\"']+):(?P<value>[^@/\s\"']+)"
            r"@(?=[A-Za-z0-9\[])"
        ),
        priority=BASIC_AUTH,
        check=checks.url_password,
        placeholders=False,
    ),
    Rule(
        "azure-account-key",
        t.AZURE_CONNECTION_STRING,
        re.compile(r"(?i)(?:AccountKey|SharedAccessKey)\s*=\s*(?P<value>[A-Za-z0-9+/]{20,}={0,2})"),
        score=0.99,
    ),
    Rule(
        "azure-sas-signature",
        t.AZURE_CONNECTION_STRING,
        re.compile(r"[?&;]sig=(?P<value>[A-Za-z0-9%+/]{20,}(?:=|%3D){0,2})"),
        context=re.compile(r"(?i)sv=\d{4}-\d\d-\d\d|SharedAccessSignature|\.core\.windows\.net"),
        window=300,
    ),
    Rule(
        "twilio-api-key",
        t.TWILIO_KEY,
        re.compile(r"(?<![A-Za-z0-9])(?P<value>SK[0-9a-fA-F]{32})" + _E),
        score=0.95,
    ),
    Rule(
        "twilio-auth-token",
        t.TWILIO_KEY,
        re.compile(r"(?<![A-Za-z0-9])(?P<value>[0-9a-f]{32})" + _E),
        context=re.compile(r"(?i)twilio|auth[_ -]?token"),
        window=80,
        check=checks.mixed_token,
    ),
    Rule(
        "sendgrid-api-key",
        t.SENDGRID_API_KEY,
        re.compile(_BD + r"(?P<value>SG\.[A-Za-z0-9_\-]{16,32}\.[A-Za-z0-9_\-]{30,50})" + _ED),
        score=0.99,
    ),
    Rule(
        "npm-token",
        t.NPM_TOKEN,
        re.compile(_B + r"(?P<value>npm_[A-Za-z0-9]{30,40})" + _E),
        score=0.99,
    ),
    Rule(
        "npmrc-auth-token",
        t.NPM_TOKEN,
        re.compile(r"_authToken\s*=\s*[\"']?(?P<value>[^\s\"']{16,})"),
        check=checks.strong_credential,
    ),
    Rule(
        "pypi-token",
        t.PYPI_TOKEN,
        re.compile(_BD + r"(?P<value>pypi-AgE[A-Za-z0-9_\-]{50,})" + _ED),
        score=0.99,
    ),
    Rule(
        "huggingface-token",
        t.HUGGINGFACE_TOKEN,
        re.compile(_B + r"(?P<value>hf_[A-Za-z0-9]{30,40})" + _E),
        check=checks.mixed_token,
    ),
    Rule(
        "vault-token",
        t.VAULT_TOKEN,
        re.compile(r"(?<![A-Za-z0-9_.])(?P<value>hv[sbr]\.[A-Za-z0-9_\-]{20,300})" + _ED),
        score=0.99,
    ),
    Rule(
        "vault-legacy-token",
        t.VAULT_TOKEN,
        re.compile(r"(?<![A-Za-z0-9_.])(?P<value>[sb]\.[A-Za-z0-9]{24})" + _E),
        context=re.compile(r"(?i)vault"),
        window=160,
        check=checks.mixed_token,
    ),
    Rule(
        "discord-bot-token",
        t.DISCORD_TOKEN,
        re.compile(
            _BD + r"(?P<value>[MNO][A-Za-z0-9_\-]{23,27}\.[A-Za-z0-9_\-]{6,7}"
            r"\.[A-Za-z0-9_\-]{27,40})" + _ED
        ),
        check=checks.mixed_token,
    ),
    Rule(
        "discord-webhook",
        t.DISCORD_TOKEN,
        re.compile(
            r"(?P<value>https://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/api/webhooks/"
            r"\d{15,20}/[A-Za-z0-9_\-]{50,80})"
        ),
        score=0.99,
    ),
    Rule(
        "memory-service-key",
        t.MEMORY_SERVICE_KEY,
        re.compile(_B + r"(?P<value>msk_[0-9a-f]{16}_[A-Za-z0-9_\-]{20,})" + _ED),
        score=0.99,
    ),
    # --- generic assignments: a secret-sounding name, an operator, a credible value ----------
    Rule(
        "secret-assignment",
        t.PASSWORD_ASSIGNMENT,
        re.compile(
            r"(?<![\w.])(?P<q>[\"']?)(?P<name>[A-Za-z_][\w.\-]{0,60}?)(?P=q)\]?[ \t]*"
            r"(?P<op>:=|=>|==|=|:(?![:/]))[ \t]*(?!:)" + _VALUE
        ),
        groups=_VALUE_GROUPS,
        score=0.8,
        priority=ASSIGNMENT,
        check=checks.assignment,
        trim=True,
    ),
    Rule(
        "secret-flag",
        t.PASSWORD_ASSIGNMENT,
        re.compile(r"(?<![\w\-])--(?P<name>[A-Za-z][\w\-]{1,40})(?P<sep>=|[ \t]+)" + _VALUE),
        groups=_VALUE_GROUPS,
        score=0.8,
        priority=ASSIGNMENT,
        check=checks.flag_assignment,
        trim=True,
    ),
    Rule(
        "secret-xml-element",
        t.PASSWORD_ASSIGNMENT,
        re.compile(r"<(?P<name>[A-Za-z_][\w:.\-]{0,60})>(?P<value>[^<\s]{4,512})</(?P=name)>"),
        score=0.8,
        priority=ASSIGNMENT,
        check=checks.tag_assignment,
    ),
    Rule(
        "config-directive-password",
        t.PASSWORD_ASSIGNMENT,
        re.compile(
            r"(?im)(?:^[ \t]*(?:password|passwd|requirepass|masterauth)"
            r"|\blogin[ \t]+\S+[ \t]+password)"
            r"[ \t]+(?P<value>[A-Za-z0-9!#$%^&*+~_\-][^\s\"'`]{3,255})"
        ),
        score=0.7,
        priority=ASSIGNMENT,
        check=checks.spaced_password,
        trim=True,
    ),
    Rule(
        "sql-password",
        t.PASSWORD_ASSIGNMENT,
        re.compile(
            r"(?i)\b(?:with[ \t]+(?:encrypted[ \t]+)?password|identified[ \t]+by"
            r"|password[ \t]*\()[ \t]*'(?P<value>[^'\n]{4,256})'"
        ),
        score=0.85,
        priority=ASSIGNMENT,
        check=checks.weak_credential,
    ),
    Rule(
        "curl-user",
        t.PASSWORD_ASSIGNMENT,
        re.compile(
            r"(?i)\bcurl\b[^\n]{0,512}?[ \t](?:-u|--user)[ \t]+[\"']?(?P<user>[^\s:\"']+)"
            r":(?P<value>[^\s\"'@]{3,256})"
        ),
        score=0.85,
        priority=ASSIGNMENT,
        check=checks.weak_credential,
    ),
    Rule(
        "mysql-inline-password",
        t.PASSWORD_ASSIGNMENT,
        re.compile(
            r"(?i)\b(?:mysql|mysqldump|mysqladmin|mariadb)\b[^\n]{0,512}?"
            r"[ \t]-p(?P<value>[^\s\"']{4,256})"
        ),
        score=0.85,
        priority=ASSIGNMENT,
        check=checks.weak_credential,
    ),
    Rule(
        "authorization-header",
        t.PASSWORD_ASSIGNMENT,
        re.compile(
            r"(?i)\b(?:authorization|proxy-authorization)[\"']?\s*[:=]\s*[\"']?"
            r"(?:bearer|basic|token|bot|digest)\s+(?P<value>[A-Za-z0-9._~+/\-]{8,}=*)"
        ),
        score=0.85,
        priority=ASSIGNMENT,
        check=checks.strong_credential,
    ),
    Rule(
        "bearer-token",
        t.PASSWORD_ASSIGNMENT,
        re.compile(r"(?i)\bbearer\s+(?P<value>[A-Za-z0-9._~+/\-]{16,}=*)"),
        score=0.75,
        priority=ASSIGNMENT,
        check=checks.bearer_token,
    ),
    # --- prose: a password-ish keyword right before a single token ---------------------------
    Rule(
        "password-in-prose",
        t.PASSWORD_IN_PROSE,
        re.compile(
            r"(?i)(?:\b(?P<verb>chang(?:e|ed|ing)|set|reset|updat(?:e|ed)|switch(?:ed)?)\b"
            r"[^\n.;:]{0,40}?)?"
            r"\b(?P<kw>pass(?:word|wd|phrase|code|[ \-]code)|pw|pwd|pin(?:[ \-]?code)?"
            r"|(?:door|gate|alarm|safe|lock(?:box)?|garage|entry|access|keypad|building)[ \-]code"
            r"|wi-?fi[ \-]key|(?:api|access|secret)[ \-]key|token|secret)s?\b"
            r"(?:[ \t]+(?:for|to|of|on|at)[ \t]+[^\n:=.;!?]{1,50}?)?"
            # The operator: "was reset to" is tried before "was", which would stop at "reset".
            r"[ \t]*(?P<op>\b(?:(?:has[ \t]+been|was|got|is)[ \t]+)?(?:changed|set|reset|updated)"
            r"[ \t]+to\b|\b(?:is|was)\b(?:[ \t]+(?:now|still|just|currently|actually)\b)?"
            r"|:|=|(?<=[ \t])(?:->|\u2192|=>)(?=[ \t])"  # "Netflix password -> X"
            r"|(?(verb)\bto\b|(?!)))[ \t]*:?[ \t]*[\"'\u201c\u2018`]?"
            r"(?P<word>[^\s\"'\u201d\u2019`(\[{<][^\s\"'\u201d\u2019`]{2,255})"
        ),
        groups=("word",),
        score=0.7,
        priority=PROSE,
        check=checks.prose_password,
        trim=True,
    ),
)
