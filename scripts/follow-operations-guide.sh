#!/usr/bin/env bash
# Follows docs/operations.md on a fresh clone of this checkout's committed branch, to a portal
# served through nginx, then submits a complaint through nginx and receives its email at a local
# SMTP server. Needs root (it makes the service user and runs commands as it), PostgreSQL on
# 127.0.0.1:5432 (superuser `postgres` by peer), Redis on 127.0.0.1:6379, nginx, Node.js and the
# network for pip and npm. `--keep` keeps the scratch folder and the database to look at.
# See scripts/follow_operations_guide.py for the few changes it makes to the guide's commands.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "Run as root: the guide makes the portal's user and runs commands as it." >&2
  exit 2
fi
exec "${PORTAL_GUIDE_PYTHON:-.venv/bin/python}" scripts/follow_operations_guide.py "$@"
