#!/bin/sh
# Secrets as files: every file /run/secrets/MEMORY_<NAME> becomes the environment variable
# MEMORY_<NAME> (Docker/compose secrets, or a Kubernetes Secret mounted there), so that key
# material never has to sit in a compose file or in `docker inspect` output. A variable that
# is already set wins over its file. Then the command replaces this shell (exec), so that it
# receives the container's SIGTERM itself.
set -eu

secrets_dir="${SECRETS_DIR:-/run/secrets}"
if [ -d "$secrets_dir" ]; then
    for file in "$secrets_dir"/MEMORY_*; do
        [ -f "$file" ] || continue
        name=$(basename "$file")
        case "$name" in
            *[!A-Z0-9_]*) continue ;;  # not a valid variable name: ignore, never eval
        esac
        if [ -z "$(printenv "$name" || true)" ]; then
            value=$(cat "$file")
            export "$name=$value"
        fi
    done
fi

exec "$@"
