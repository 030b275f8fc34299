#!/usr/bin/env bash
# The portal's nightly backup: the database (pg_dump, custom format) and the uploads folder.
#
#   PORTAL_DATABASE_URL=postgresql+psycopg://portal@127.0.0.1:5432/portal \
#   PORTAL_ATTACHMENTS_DIR=/var/lib/portal/attachments \
#   scripts/backup.sh /var/backups/portal
#
# Writes portal-<UTC time>.dump and uploads-<UTC time>.tar.gz into the folder (each written under
# a .part name first, so a file with its final name is whole), then removes sets older than
# PORTAL_BACKUP_KEEP_DAYS (30). Run it as the database owner's system account; check a set with
#   .venv/bin/portal restore-check /var/backups/portal/portal-<time>.dump \
#       --uploads /var/backups/portal/uploads-<time>.tar.gz
# PORTAL_BACKUP_PG_DUMP_ARGS adds options to pg_dump (for example --schema=NAME).
set -euo pipefail

target="${1:?usage: scripts/backup.sh BACKUP_FOLDER}"
url="${PORTAL_DATABASE_URL:?set PORTAL_DATABASE_URL (the owner account URL, as for portal migrate)}"
attachments="${PORTAL_ATTACHMENTS_DIR:?set PORTAL_ATTACHMENTS_DIR (the uploads folder)}"
keep_days="${PORTAL_BACKUP_KEEP_DAYS:-30}"

case "$url" in
  postgresql*) ;;
  *) echo "backup.sh backs up PostgreSQL; for SQLite copy the file with: sqlite3 portal.db \".backup '$target/portal.db'\"" >&2; exit 2 ;;
esac
libpq_url="${url/postgresql+psycopg:/postgresql:}"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
umask 077
mkdir -p "$target"

# shellcheck disable=SC2086 # the extra arguments are meant to split
pg_dump --format=custom ${PORTAL_BACKUP_PG_DUMP_ARGS:-} --file="$target/portal-$stamp.dump.part" "$libpq_url"
mv "$target/portal-$stamp.dump.part" "$target/portal-$stamp.dump"

tar -C "$(dirname "$attachments")" -czf "$target/uploads-$stamp.tar.gz.part" "$(basename "$attachments")"
mv "$target/uploads-$stamp.tar.gz.part" "$target/uploads-$stamp.tar.gz"

find "$target" -maxdepth 1 \( -name 'portal-*.dump' -o -name 'uploads-*.tar.gz' \) \
  -mtime +"$keep_days" -delete
echo "backup written: $target/portal-$stamp.dump $target/uploads-$stamp.tar.gz"
