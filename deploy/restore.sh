#!/usr/bin/env bash
# Restore a backup made by backup.sh: the database is dropped (its connections ended), created
# again empty and filled by pg_restore. Everything written since the backup is lost.
#
#   DATABASE_URL=postgresql://warga:PASSWORD@db:5432/layanan deploy/restore.sh --yes FILE.dump
#
# Stop the bot's processes first (docker compose stop worker web1 web2) so that nobody writes
# between the drop and the end of the restore; start them again after (`up -d`): they
# migrate the schema up if the backup is from an older version, and carry on from the state
# saved in the backup: conversations, the queue (what was sent already is recorded as
# sent), reminders. A process left running loses its connections at the drop and opens new
# ones after; what it did meanwhile fails and is tried again.
# The role in DATABASE_URL must be allowed to create databases (the compose `warga` role,
# the owner, is). Connects to the `postgres` maintenance database for the drop and create.
set -euo pipefail

usage() {
    echo "usage: DATABASE_URL=postgresql://... restore.sh --yes FILE.dump" >&2
    exit 2
}

[[ "${1:-}" == "--yes" ]] || usage
file="${2:-}"
[[ -n "$file" && -f "$file" ]] || { echo "restore.sh: no such backup: '$file'" >&2; usage; }
url="${DATABASE_URL:-}"
[[ -n "$url" ]] || { echo "restore.sh: DATABASE_URL is not set" >&2; usage; }
url="${url/postgresql+psycopg:/postgresql:}"
url="${url/postgresql+psycopg2:/postgresql:}"

# postgresql://user:pass@host:port/dbname?options → the database's name, and the same URL
# pointing at the maintenance database
rest="${url#*://}"
path="${rest#*/}"
[[ "$path" != "$rest" && -n "$path" ]] || { echo "restore.sh: no database name in the URL" >&2; exit 2; }
name="${path%%\?*}"
query=""
[[ "$path" == *\?* ]] && query="?${path#*\?}"
maintenance="${url%%://*}://${rest%%/*}/postgres$query"
if ! [[ "$name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
    echo "restore.sh: unusual database name '$name': restore it by hand" >&2
    exit 2
fi

# read the whole backup before anything is dropped
pg_restore --list "$file" >/dev/null

psql --no-psqlrc --quiet --set ON_ERROR_STOP=1 --dbname="$maintenance" <<SQL
DROP DATABASE IF EXISTS "$name" WITH (FORCE);
CREATE DATABASE "$name";
SQL
pg_restore --exit-on-error --no-owner --no-privileges --dbname="$url" "$file"
psql --no-psqlrc --quiet --set ON_ERROR_STOP=1 --dbname="$url" --command="ANALYZE"
echo "restore.sh: restored $name from $file"
