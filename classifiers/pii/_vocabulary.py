"""Word lists that keep the NER from reporting software, vendors and jargon as people or places.

Agent memories are full of product and company names written like proper nouns ("asked
Claude", "deployed to Vercel", "Slack thread"); a small spaCy model tags many of them PERSON or
GPE. An entity is dropped when every word in it is one of these terms (or a version/number), so
"Claude" and "Claude Sonnet" are dropped while "Claude Moreau" (a first name plus a surname)
is still a PERSON. Lower case; multi-word names are listed word by word.
"""

from __future__ import annotations

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
"""

# Big vendors, and the fictional companies used in examples (the project's own scopes use them).
_COMPANIES = """
google alphabet microsoft apple amazon meta facebook instagram netflix nvidia intel amd ibm
oracle sap adobe atlassian samsung tesla uber airbnb spotify paypal visa mastercard
acme globex initech hooli contoso fabrikam northwind umbrella cyberdyne wonka
vandelay dunder mifflin
"""

# Words that qualify a product rather than name anyone ("Claude Code", "Gemini Pro").
_QUALIFIERS = """
code pro ultra flash mini nano turbo max plus lite preview instant api sdk cli app cloud
enterprise team studio desktop web server client edge beta alpha v1 v2 v3 v4 v5
"""

PRODUCT_TERMS: frozenset[str] = frozenset((_AI + _TECH + _COMPANIES).split())
QUALIFIER_TERMS: frozenset[str] = frozenset(_QUALIFIERS.split())

# Lower-case words that may sit inside a person's name ("Ludwig van Beethoven").
NAME_PARTICLES: frozenset[str] = frozenset(
    "van von der den de del della di da das dos du la le bin ibn al el y e st".split()
)

# Prefixes after which a capital letter is normal inside a surname (McAllister, DiMaggio).
NAME_PREFIXES: tuple[str, ...] = ("Mc", "Mac", "O'", "O’", "D'", "D’", "De", "Di", "Da", "Du")
NAME_PREFIXES += ("La", "Le", "Van", "Von", "Fitz", "St")

# Street words that make a NER span with digits an address rather than an identifier.
STREET_WORDS: frozenset[str] = frozenset(
    """
    street st avenue ave road rd boulevard blvd lane ln drive dr court ct way place pl
    terrace close crescent square sq highway hwy parkway pkwy row alley gardens grove hill
    strasse straße str rue calle via viale piazza plaza weg gasse laan straat
    """.split()
)
