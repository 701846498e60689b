"""Word lists that keep the NER from reporting software, vendors and jargon as people or places.

Agent memories are full of product and company names written like proper nouns ("asked
Claude", "deployed to Vercel", "Slack thread"); a small spaCy model tags many of them PERSON or
GPE. An entity is dropped when every word in it is one of these terms (or a version/number), so
"Claude" and "Claude Sonnet" are dropped while "Claude Moreau" (a first name plus a surname)
is still a PERSON. Lower case; multi-word names are listed word by word.
"""

from __future__ import annotations

APOSTROPHE = "\u2019"  # the typographic apostrophe of O\u2019Neil


def terms(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text``."""
    return frozenset(text.split())


# Models, assistants and AI vendors. "Claude", "Gemini", "Alexa", "Siri" are also first names:
# alone they overwhelmingly mean the product in an agent's memory, with a surname they are kept.
_AI = """
openai anthropic claude chatgpt gpt gpt-4 gpt-4o gpt-5 o1 o3 sonnet opus haiku gemini bard
llama mistral mixtral codestral grok perplexity copilot cursor windsurf replit cohere
deepseek qwen phi falcon whisper dall-e midjourney stable diffusion hugging face
huggingface langchain langgraph llamaindex crewai autogen mem0 zep letta memgpt ollama vllm
bedrock vertex sagemaker siri alexa cortana
"""

# Developer tools, infrastructure, languages and frameworks.
_TECH = """
github gitlab bitbucket git jira confluence notion linear asana trello figma miro slack
discord teams zoom webex meet kubernetes k8s kubectl helm argo argocd istio envoy docker
podman compose terraform pulumi ansible puppet chef vagrant packer nomad consul vault
postgres postgresql mysql mariadb sqlite mongodb mongo redis valkey memcached kafka rabbitmq
nats celery airflow dagster prefect dbt snowflake databricks bigquery redshift clickhouse
duckdb elasticsearch opensearch kibana logstash grafana prometheus loki tempo jaeger
datadog sentry splunk pagerduty opsgenie newrelic honeycomb qdrant pinecone weaviate milvus
chroma pgvector faiss presidio spacy pytorch torch tensorflow keras jax numpy pandas polars
scikit-learn sklearn fastapi flask django litestar uvicorn gunicorn starlette pydantic
sqlalchemy alembic apscheduler pytest mypy ruff black poetry pip npm yarn pnpm bun deno
node nodejs react vue angular svelte next nuxt remix vite webpack babel typescript
javascript python rust golang go java kotlin scala swift ruby rails php laravel symfony
spring elixir erlang haskell clojure dotnet linux ubuntu debian fedora alpine centos rhel
windows macos ios android chrome firefox safari edge nginx apache caddy traefik jenkins
circleci travis buildkite actions vercel netlify heroku render fly cloudflare fastly akamai
aws azure gcp ec2 s3 lambda cloudfront cloudwatch dynamodb rds eks gke aks okta auth0 keycloak
stripe twilio sendgrid mailgun plaid shopify salesforce hubspot zendesk intercom freshdesk
segment mixpanel amplitude posthog tableau looker metabase superset excel sheets docs drive
dropbox box onedrive sharepoint outlook gmail whatsapp telegram signal mattermost
dependabot renovate supabase firebase firestore prisma drizzle astro hono zod jest vitest
cypress playwright storybook contentful strapi retool zapier airtable calendly loom clickup
basecamp todoist obsidian evernote gitbook mintlify docusaurus mkdocs sphinx hugo jekyll
gatsby railway koyeb digitalocean linode vultr hetzner scaleway backblaze minio ceph rancher
openshift vmware proxmox qemu virtualbox tailscale wireguard openvpn ngrok teleport
onelogin jumpcloud yubikey 1password bitwarden lastpass dashlane doppler infisical snyk
sonarqube codecov semgrep trivy crowdstrike sentinelone tenable qualys wireshark nmap
cassandra scylla couchbase neo4j surrealdb upstash turso neon planetscale cockroachdb
timescale influxdb questdb trino presto flink spark hadoop kinesis pubsub sqs sns
graphql grpc protobuf parquet iceberg fivetran airbyte launchdarkly statsig optimizely
wandb mlflow kubeflow ray dask openrouter groq replicate runpod modal coreweave
klarna adyen revolut monzo brex ramp gusto rippling deel coinbase robinhood
"""

# Big vendors, and the fictional companies used in examples (the project's own scopes use them).
_COMPANIES = """
google alphabet microsoft apple amazon meta facebook instagram netflix nvidia intel amd ibm
oracle sap adobe atlassian samsung tesla uber airbnb spotify paypal visa mastercard
acme globex initech hooli contoso fabrikam northwind umbrella cyberdyne wonka
vandelay dunder mifflin lorem ipsum
"""

# Words that qualify a product rather than name anyone ("Claude Code", "Gemini Pro").
_QUALIFIERS = """
code pro ultra flash mini nano turbo max plus lite preview instant api sdk cli app cloud
enterprise team studio desktop web server client edge beta alpha v1 v2 v3 v4 v5
"""

PRODUCT_TERMS: frozenset[str] = terms(_AI + _TECH + _COMPANIES)
QUALIFIER_TERMS: frozenset[str] = terms(_QUALIFIERS)

# Lower-case words that may sit inside a person's name ("Ludwig van Beethoven").
NAME_PARTICLES: frozenset[str] = terms(
    "van von der den de del della di da das dos du la le bin ibn al el y e st"
)

# Prefixes after which a capital letter is normal inside a surname (McAllister, DiMaggio).
NAME_PREFIXES: tuple[str, ...] = (
    *("Mc", "Mac", "O'", f"O{APOSTROPHE}", "D'", f"D{APOSTROPHE}", "De", "Di", "Da", "Du"),
    *("La", "Le", "Van", "Von", "Fitz", "St"),
)

# Street words that make a NER span with digits an address rather than an identifier.
STREET_WORDS: frozenset[str] = terms(
    """
    street st avenue ave road rd boulevard blvd lane ln drive dr court ct way place pl
    terrace close crescent square sq highway hwy parkway pkwy row alley gardens grove hill
    strasse straße str rue calle via viale piazza plaza weg gasse laan straat
    """
)

# A last word that makes a capitalised phrase a team, company or function, not a person.
NOT_PERSON_LAST: frozenset[str] = terms(
    """
    team teams group corp corporation inc ltd llc gmbh ag plc sa bv labs lab services service
    support success portal platform manager lead engineer engineering department dept squad
    guild bot bots app apps account accounts experience data operations ops office center
    centre desk council board committee project program programme foundation institute
    university college school bank partners holdings solutions systems technologies
    """
)

# Capitalised engineering jargon, kinship words and sentence openers the NER takes for
# names ("Merge Request", "Upgrade Node", "Grandma", "'Ignore previous instructions'").
# A PERSON span holding one of these is dropped; real surnames that are also such words
# (Page, Key, King) are deliberately absent.
JARGON: frozenset[str] = terms(
    """
    request requests pull merge commit branch release deploy deployment build upgrade update
    install review sprint standup retro ticket issue bug feature epic task incident alert
    alerts job jobs pipeline pipelines run runs workflow workflows action actions function
    functions cluster node nodes pod pods service services server servers worker workers
    queue topic cache index table schema model models agent agents memory memories token
    tokens secret secrets policy policies scope scopes role roles admin admins storage
    compute engine database registry endpoint webhook webhooks dashboard report metrics logs
    config settings roadmap backlog milestone checklist template readme changelog
    grandma grandpa granny grandmother grandfather mom mum mommy mummy dad daddy mother
    father sister brother aunt auntie uncle cousin wife husband boss
    ignore disregard forget remember pretend please thanks hello hey dear regards cheers
    checkout repository repo setup lint test tests publish upload download install sync
    world everyone folks there all sir madam colleagues customers users
    """
)

# Canonical placeholder people (jwt.io's sample token decodes to "John Doe"): not anyone.
PLACEHOLDER_NAMES: frozenset[str] = frozenset(
    {"john doe", "jane doe", "joe bloggs", "max mustermann", "erika mustermann"}
)
