#!/usr/bin/env bash
# deploy.sh: put a new kura binary in service on this host, safely.
#
#   deploy.sh [options] NEW_BINARY
#
# In order: check that NEW_BINARY runs; take a pre-deploy backup
# (kura backup create); apply migrations (kura migrate up); swap the binary
# atomically, keeping the one it replaces as kura.previous; restart the
# service; wait for /health. If the service is not healthy within the
# deadline, the previous binary is put back and restarted, and the script
# says how to restore the pre-deploy backup should a migration need
# undoing. Nothing is changed before the backup succeeded, and a failed
# migration changes no binary.
#
# Options (each also read from the environment variable in brackets):
#   --prefix DIR       where kura is installed: DIR/bin/kura [KURA_PREFIX,
#                      default /opt/kura]
#   --env-file FILE    kura's configuration, for backup, migrate and the
#                      health check [KURA_ENV_FILE, default /etc/kura/kura.env]
#   --restart CMD      the command that restarts the service
#                      [KURA_RESTART, default "systemctl restart kura"]
#   --health-url URL   the service's base URL [KURA_HEALTH_URL, default: from
#                      KURA_ADDR in the env file]
#   --timeout SECONDS  how long to wait for /health [KURA_HEALTH_TIMEOUT, 60]
#   -h, --help         this text
#
# Exit status: 0 deployed; 1 not deployed, nothing changed or rolled back
# to the previous binary, which serves; 2 rolled back but the previous
# binary is not healthy either: look now.
set -euo pipefail

prog=deploy.sh
prefix=${KURA_PREFIX:-/opt/kura}
env_file=${KURA_ENV_FILE:-/etc/kura/kura.env}
restart_cmd=${KURA_RESTART:-systemctl restart kura}
health_url=${KURA_HEALTH_URL:-}
timeout=${KURA_HEALTH_TIMEOUT:-60}

say() { printf '%s: %s\n' "$prog" "$*"; }
die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

while [ $# -gt 0 ]; do
  case $1 in
    --prefix) prefix=${2:?--prefix needs a folder}; shift 2 ;;
    --env-file) env_file=${2:?--env-file needs a file}; shift 2 ;;
    --restart) restart_cmd=${2:?--restart needs a command}; shift 2 ;;
    --health-url) health_url=${2:?--health-url needs a URL}; shift 2 ;;
    --timeout) timeout=${2:?--timeout needs seconds}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    -*) usage >&2; die "unknown option $1" ;;
    *) break ;;
  esac
done
[ $# -eq 1 ] || { usage >&2; die "give one NEW_BINARY (got $# arguments)"; }
new=$1

case $timeout in
  '' | *[!0-9]*) die "--timeout (KURA_HEALTH_TIMEOUT): \"$timeout\" is not a whole number of seconds" ;;
esac
[ -f "$new" ] || die "NEW_BINARY $new: no such file"
[ -r "$env_file" ] || die "--env-file (KURA_ENV_FILE) $env_file: no such file, or not readable"
bin=$prefix/bin
current=$bin/kura
previous=$bin/kura.previous
mkdir -p "$bin"

# One deploy at a time on this host.
exec 9>"$bin/.deploy.lock"
flock -n 9 || die "another deploy is running (it holds $bin/.deploy.lock)"

# The new binary is staged beside the current one (the same file system,
# so that the swap is one rename), and must at least run here (the right
# architecture, not truncated) before anything changes.
staged=$bin/.kura.new
trap 'rm -f "$staged"' EXIT
cp "$new" "$staged"
chmod 0755 "$staged"
new_version=$("$staged" version 2>&1) || die "$new does not run on this host: $new_version"
say "deploying $new_version"
given=$new
new=$staged

kura_new() { "$new" "$1" --env-file "$env_file" "${@:2}"; }

# health_once asks the installed binary whether the service answers
# /health with 200.
health_once() {
  if [ -n "$health_url" ]; then
    "$current" healthcheck --url "$health_url" --timeout 2s >/dev/null 2>&1
  else
    "$current" healthcheck --env-file "$env_file" --timeout 2s >/dev/null 2>&1
  fi
}

# wait_healthy waits up to $timeout seconds for health_once.
wait_healthy() {
  local deadline=$((SECONDS + timeout))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if health_once; then return 0; fi
    sleep 1
  done
  return 1
}

restart() {
  say "restarting: $restart_cmd"
  # Not handing the lock's descriptor on: a service the command starts
  # would hold the lock for as long as it runs.
  bash -c "$restart_cmd" 9>&-
}

# 1. The pre-deploy backup, with the new binary (the one that migrates).
# A first install (no kura under the prefix yet) has nothing to back up.
backup_name=
if [ -e "$current" ]; then
  backup_json=$(kura_new backup create --json) || die "the pre-deploy backup failed (above): nothing was changed"
  # The manifest's own "name" comes first (its tables' names follow).
  backup_name=$(printf '%s\n' "$backup_json" | grep -o '"name": *"[^"]*"' | head -n 1 | sed 's/.*"\([^"]*\)"$/\1/' || true)
  [ -n "$backup_name" ] || die "kura backup create --json gave no name: $backup_json"
  say "pre-deploy backup: $backup_name"
else
  say "first install: no kura in $bin yet, so no pre-deploy backup"
fi

restore_hint() {
  [ -n "$backup_name" ] || return 0
  say "if a migration must be undone, restore the pre-deploy backup: stop the service (kura refuses to"
  say "restore under a running server), then, with the database's URL in DATABASE_URL:"
  say "  $1 backup restore --env-file $env_file --to \"\$DATABASE_URL\" --force $backup_name"
  say "and start the service again (docs/DEPLOY.md, Rolling back)"
}

# 2. Migrations, before the swap: a failure leaves the old binary serving.
if ! kura_new migrate up; then
  say "migrations failed: the previous binary still serves, unchanged"
  restore_hint "$given"
  exit 1
fi

# 3. The swap: the staged binary is renamed over the current one (atomic);
# the current one stays as kura.previous (a hard link made first, so that
# kura always exists).
had_previous=false
if [ -e "$current" ]; then
  ln -f "$current" "$previous"
  had_previous=true
fi
mv -f "$staged" "$current"

# 4. Restart and wait for health.
restart || say "the restart command failed; waiting for /health all the same"
if wait_healthy; then
  say "deployed: $new_version is healthy"
  if $had_previous; then say "previous binary kept as $previous; pre-deploy backup $backup_name"; fi
  exit 0
fi

# 5. Roll back.
say "not healthy within ${timeout}s: rolling back"
if ! $had_previous; then
  say "no previous binary to roll back to (first deploy): $current stays; see the service's logs"
  restore_hint "$current"
  exit 2
fi
mv -f "$current" "$bin/kura.failed"
cp "$previous" "$staged"
mv -f "$staged" "$current"
say "the failed binary is kept as $bin/kura.failed"
restart || true
if wait_healthy; then
  say "rolled back: $("$current" version 2>&1) serves again"
  restore_hint "$bin/kura.failed"
  exit 1
fi
say "rolled back, but the previous binary is not healthy either: see the service's logs"
restore_hint "$bin/kura.failed"
exit 2
