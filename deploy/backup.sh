#!/usr/bin/env bash
# Back the database up with pg_dump's custom format (-Fc: compressed, restored selectively
# and in parallel by pg_restore) into BACKUP_DIR as layanan-YYYYmmddTHHMMSSZ.dump, then keep
# the newest BACKUP_KEEP of them and delete the older ones.
#
#   DATABASE_URL=postgresql://warga:PASSWORD@db:5432/layanan deploy/backup.sh
#   deploy/backup.sh postgresql://...            # the URL as the argument instead
#
# DATABASE_URL may be the program's own (postgresql+psycopg://...): the driver part is
# dropped. BACKUP_DIR defaults to ./backups, BACKUP_KEEP to 14. The dump is written under a
# temporary name and renamed once complete, so a backup that failed half-way never counts
# as one (nor pushes a good one out). It runs while the bot serves: pg_dump reads one
# consistent snapshot and blocks no writer. Exits non-zero on any failure (for cron's mail).
set -euo pipefail

url="${1:-${DATABASE_URL:-}}"
if [[ -z "$url" ]]; then
    echo "backup.sh: give the database URL as DATABASE_URL or as the argument" >&2
    exit 2
fi
url="${url/postgresql+psycopg:/postgresql:}"
url="${url/postgresql+psycopg2:/postgresql:}"
dir="${BACKUP_DIR:-./backups}"
keep="${BACKUP_KEEP:-14}"
if ! [[ "$keep" =~ ^[1-9][0-9]*$ ]]; then
    echo "backup.sh: BACKUP_KEEP must be a whole number of at least 1, not '$keep'" >&2
    exit 2
fi

mkdir -p "$dir"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
target="$dir/layanan-$stamp.dump"
if [[ -e "$target" ]]; then
    echo "backup.sh: $target exists already (two backups in one second?)" >&2
    exit 1
fi
partial="$dir/.layanan-$stamp.dump.partial"
trap 'rm -f "$partial"' EXIT

pg_dump --format=custom --compress=6 --no-owner --no-privileges --file="$partial" "$url"
# a dump that pg_restore cannot read is no backup
pg_restore --list "$partial" >/dev/null
mv "$partial" "$target"
trap - EXIT
echo "backup.sh: wrote $target ($(du -h "$target" | cut -f1))"

# the newest $keep stay; the names sort by time
mapfile -t dumps < <(find "$dir" -maxdepth 1 -type f -name 'layanan-*.dump' -printf '%f\n' | sort -r)
for old in "${dumps[@]:$keep}"; do
    rm -f -- "${dir:?}/$old"
    echo "backup.sh: deleted the old backup $old"
done
