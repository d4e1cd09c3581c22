#!/usr/bin/env bash
# deploy.sh: put a new kura binary in service on this host, safely.
#
#   deploy.sh [options] NEW_BINARY
#
# kura's commands run here with the configuration the service runs with,
# never the caller's: by default the systemd unit's (systemctl show: its
# Environment= lines, then its EnvironmentFile= files, which override them,
# its WorkingDirectory=, from which relative paths and a .env file are read,
# and the binary its ExecStart= runs), or with --no-unit, the --env-file
# given, read from --workdir. deploy.sh says which database that is before
# it changes anything.
#
# In order: check that NEW_BINARY runs; name the database (engine, address,
# database or file, identity; never a password); take a pre-deploy backup
# (kura backup create) and check that it is of that database; apply the
# migrations (kura migrate up) to that database, checked again; swap the
# binary atomically, keeping the one it replaces as kura.previous; restart
# the service; wait for /health. If the service is not healthy within the
# deadline, or its new process exits before (systemd says so: deploy.sh
# then prints its exit status and last log lines), the previous binary is
# put back and restarted, and the script says how to restore the
# pre-deploy backup should a migration need undoing. Nothing is changed
# before the backup succeeded, and a failed migration changes no binary.
#
# Options (each also read from the environment variable in brackets):
#   --unit NAME        the systemd unit that runs kura, whose configuration
#                      kura's commands get [KURA_UNIT, default kura]
#   --no-unit          no systemd unit: kura's configuration is --env-file
#                      alone, and --env-file and --restart are required
#   --env-file FILE    with --no-unit, kura's configuration [KURA_ENV_FILE];
#                      with a unit it may only name one of the unit's files
#   --workdir DIR      with --no-unit, the folder kura's commands run in
#                      (relative paths) [KURA_WORKDIR, default: this one]
#   --prefix DIR       where kura is installed: DIR/bin/kura [KURA_PREFIX,
#                      default /opt/kura]; with a unit, the binary it runs
#   --restart CMD      the command that restarts the service [KURA_RESTART,
#                      default "systemctl restart NAME"]
#   --health-url URL   the service's base URL [KURA_HEALTH_URL, default:
#                      from KURA_ADDR in the configuration]
#   --timeout SECONDS  how long to wait for /health [KURA_HEALTH_TIMEOUT, 60]
#   -h, --help         this text
#
# Exit status: 0 deployed; 1 not deployed, nothing changed or rolled back
# to the previous binary, which serves; 2 rolled back but the previous
# binary is not healthy either: look now.
set -euo pipefail

prog=deploy.sh
unit=${KURA_UNIT:-kura}
prefix=${KURA_PREFIX:-/opt/kura}
env_file=${KURA_ENV_FILE:-}
workdir=${KURA_WORKDIR:-}
restart_cmd=${KURA_RESTART:-}
health_url=${KURA_HEALTH_URL:-}
timeout=${KURA_HEALTH_TIMEOUT:-60}

say() { printf '%s: %s\n' "$prog" "$*"; }
die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

while [ $# -gt 0 ]; do
  case $1 in
    --unit) unit=${2:?--unit needs a unit name}; shift 2 ;;
    --no-unit) unit=; shift ;;
    --env-file) env_file=${2:?--env-file needs a file}; shift 2 ;;
    --workdir) workdir=${2:?--workdir needs a folder}; shift 2 ;;
    --prefix) prefix=${2:?--prefix needs a folder}; shift 2 ;;
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
bin=$prefix/bin
current=$bin/kura
previous=$bin/kura.previous

# --- The service's configuration ---------------------------------------

# cfg_val holds the variables kura's commands get (cfg_keys their order,
# cfg_from the file that set each, if one did), cfg_file the --env-file
# they get ("" for none: then, as kura serve, they read a .env in cfg_dir
# if there is one), cfg_dir the folder they run in.
declare -A cfg_val=() cfg_from=()
cfg_keys=()
cfg_file=
cfg_dir=

set_var() {
  local k=${1%%=*}
  [ -n "${cfg_val[$k]+set}" ] || cfg_keys+=("$k")
  cfg_val[$k]=${1#*=}
}

# unquote_words splits a list of words as systemctl show prints them (each
# bare, or in double quotes with a backslash before " \ ` and $) into the
# array words.
unquote_words() {
  local s=$1 w='' c i=0 quoted=false any=false
  words=()
  while [ "$i" -lt "${#s}" ]; do
    c=${s:i:1}
    if $quoted; then
      case $c in
        \\) i=$((i + 1)); w+=${s:i:1} ;;
        \") quoted=false ;;
        *) w+=$c ;;
      esac
    else
      case $c in
        ' ') if $any; then words+=("$w"); fi; w='' any=false ;;
        \") quoted=true any=true ;;
        *) w+=$c any=true ;;
      esac
    fi
    i=$((i + 1))
  done
  if $any; then words+=("$w"); fi
}

trim() {
  local s=$1
  s=${s#"${s%%[![:space:]]*}"}
  printf '%s' "${s%"${s##*[![:space:]]}"}"
}

# read_env_file adds the KEY=VALUE lines of an EnvironmentFile= to the
# configuration, as systemd reads them: blank lines and lines starting with
# # or ; are skipped, a value may stand in double quotes (with backslash
# escapes) or single quotes.
read_env_file() {
  local f=$1 line key val n=0
  [ -r "$f" ] || die "the unit's environment file $f cannot be read: run deploy.sh as root, as systemd reads it"
  while IFS= read -r line || [ -n "$line" ]; do
    n=$((n + 1))
    line=$(trim "$line")
    case $line in '' | '#'* | ';'*) continue ;; esac
    [[ $line == *=* ]] || die "$f line $n: not KEY=VALUE"
    key=$(trim "${line%%=*}")
    [[ $key =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "$f line $n: \"$key\" is not a variable name"
    val=$(trim "${line#*=}")
    case $val in
      *\\) die "$f line $n: a line continued with \\ is not read by deploy.sh: write the value on one line" ;;
      \"*\") unquote_words "$val"; val=${words[0]-} ;;
      \'*\') val=${val:1:${#val}-2} ;;
    esac
    set_var "$key=$val"
    cfg_from[$key]=$f
  done <"$f"
}

# read_unit reads the configuration of the systemd unit $unit: what
# systemd gives kura serve, which kura's commands here get too.
read_unit() {
  local out line key val path argv exec_path=
  out=$(systemctl show "$unit" --property=LoadState --property=Environment --property=EnvironmentFiles \
    --property=WorkingDirectory --property=ExecStart 2>&1) ||
    die "systemd cannot tell the configuration of the unit $unit ($out): on a host without systemd, name kura's configuration: --no-unit --env-file FILE --restart CMD"
  local load='' files=()
  cfg_dir=/
  while IFS= read -r line; do
    key=${line%%=*} val=${line#*=}
    case $key in
      LoadState) load=$val ;;
      Environment)
        unquote_words "$val"
        for w in "${words[@]}"; do set_var "$w"; done
        ;;
      EnvironmentFiles) files+=("$val") ;;
      WorkingDirectory) [ -z "$val" ] || cfg_dir=${val#!} ;;
      ExecStart)
        exec_path=$(printf '%s' "$val" | sed -n 's/.*path=\([^ ;]*\).*/\1/p')
        argv=$(printf '%s' "$val" | sed -n 's/.*argv\[\]=\([^;]*\);.*/\1/p')
        ;;
    esac
  done <<<"$out"
  [ "$load" = loaded ] ||
    die "there is no systemd unit $unit (LoadState=${load:-unknown}): install deploy/kura.service (docs/DEPLOY.md), name yours with --unit, or use --no-unit --env-file FILE --restart CMD"
  case $cfg_dir in
    /*) ;;
    *) die "the unit $unit's WorkingDirectory=$cfg_dir is not a folder deploy.sh can use: give it an absolute folder" ;;
  esac
  for val in "${files[@]}"; do
    path=${val% (ignore_errors=*}
    if [ ! -e "$path" ] && [[ $val == *"ignore_errors=yes)" ]]; then continue; fi
    read_env_file "$path"
  done
  # The binary the unit runs must be the one deploy.sh replaces, and serve's
  # own --env-file, if ExecStart gives one, is what kura's commands read.
  [ "$(realpath -m "${exec_path:-/nonexistent}")" = "$(realpath -m "$current")" ] ||
    die "the unit $unit runs ${exec_path:-an unknown program}, not $current: give --prefix the folder its binary is in (--prefix DIR installs DIR/bin/kura)"
  unquote_words "$argv"
  local i
  for ((i = 1; i < ${#words[@]}; i++)); do
    case ${words[i]} in
      serve) ;;
      --env-file) i=$((i + 1)); cfg_file=${words[i]-} ;;
      --env-file=*) cfg_file=${words[i]#--env-file=} ;;
      *) say "note: the unit's ExecStart passes ${words[i]} to kura serve; kura's commands here do not get it" ;;
    esac
  done
  if [ -n "$env_file" ]; then
    local match=false
    for val in "${files[@]}" "$cfg_file"; do [ "${val% (ignore_errors=*}" = "$env_file" ] && match=true; done
    $match || die "--env-file $env_file is not an environment file of the unit $unit, whose configuration deploy.sh reads: leave --env-file out (or use --no-unit)"
  fi
  [ -n "$restart_cmd" ] || restart_cmd="systemctl restart $unit"
}

if [ -n "$unit" ]; then
  [ -z "$workdir" ] || die "--workdir is for --no-unit: the unit's WorkingDirectory= is used"
  read_unit
  say "configuration: systemd unit $unit (its Environment=, EnvironmentFile= and WorkingDirectory=$cfg_dir)"
else
  [ -n "$env_file" ] || die "--no-unit needs --env-file FILE: kura's configuration, the one the service runs with"
  [ -r "$env_file" ] || die "--env-file (KURA_ENV_FILE) $env_file: no such file, or not readable"
  [ -n "$restart_cmd" ] || die "--no-unit needs --restart CMD: the command that restarts the service"
  cfg_file=$(realpath "$env_file") # kura's commands run in cfg_dir
  cfg_dir=${workdir:-$PWD}
  # kura reads the file; where the database's URLs are is noted, for the
  # restore's hint.
  for k in DATABASE_URL KURA_MIGRATE_DATABASE_URL; do
    if grep -Eq "^[[:space:]]*(export[[:space:]]+)?$k=" "$env_file"; then cfg_val[$k]=set cfg_from[$k]=$env_file; fi
  done
  [ -d "$cfg_dir" ] || die "--workdir $cfg_dir: no such folder"
  say "configuration: $env_file alone (no systemd unit), read from $cfg_dir"
fi

run_env=("PATH=$PATH")
[ -z "${TMPDIR:-}" ] || run_env+=("TMPDIR=$TMPDIR")
for k in "${cfg_keys[@]}"; do run_env+=("$k=${cfg_val[$k]}"); done # none with --no-unit

# kura_run BINARY WORD [WORD] -- ARGS: one kura command with the service's
# configuration (and nothing of this shell's environment), in its folder.
kura_run() {
  local binary=$1 words=() env_flag=()
  shift
  while [ "$1" != -- ]; do words+=("$1"); shift; done
  shift
  [ -z "$cfg_file" ] || env_flag=(--env-file "$cfg_file")
  (cd "$cfg_dir" && exec env -i "${run_env[@]}" "$binary" "${words[@]}" "${env_flag[@]}" "$@")
}

# --- The binary --------------------------------------------------------

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

# --- The database ------------------------------------------------------

# json_field FIELD prints the first "FIELD": "value" of the JSON on stdin.
json_field() { grep -o "\"$1\": *\"[^\"]*\"" | head -n 1 | sed 's/.*"\([^"]*\)"$/\1/' || true; }

# source_of reads a database's source as kura prints it in JSON ({"id",
# "engine", "address", "database"}: kura db identity --json, and a backup
# manifest's "source") from stdin, and sets src_id, src_where (engine,
# address, database or file) and src_text (both).
source_of() {
  local json engine address name
  json=$(cat)
  src_id=$(printf '%s\n' "$json" | json_field id)
  engine=$(printf '%s\n' "$json" | json_field engine)
  address=$(printf '%s\n' "$json" | json_field address)
  name=$(printf '%s\n' "$json" | json_field database)
  case $engine in
    '') src_where="an unnamed database" ;;
    sqlite) src_where="sqlite file $name on $address" ;;
    *) src_where="$engine $address database $name" ;;
  esac
  src_text="$src_where, identity ${src_id:-none yet}"
}

# database names the database of the configuration, as the new binary
# reads it (kura db identity --json: never the URL or a password), in
# db_id, db_where and db_text.
database() {
  local out
  out=$(kura_run "$new" db identity -- --json 2>&1) || return 1
  source_of <<<"$out"
  db_id=$src_id db_where=$src_where db_text=$src_text
}

# same_database ID WHERE ID WHERE: two databases are one when their
# identities are; when either has none yet (migrated before kura kept one),
# when their engine, address and database are.
same_database() {
  if [ -n "$1" ] && [ -n "$3" ]; then [ "$1" = "$3" ]; else [ "$2" = "$4" ]; fi
}

db_id='' db_where='' db_text=''
if database; then
  say "database: $db_text"
elif [ -e "$current" ]; then
  why=$(kura_run "$new" db identity -- --json 2>&1 | tail -n 1) || true
  case $why in
    *'unknown db command "identity"'*)
      die "$given has no kura db identity: it is older than this deploy.sh, which names the database with it to check that the backup is of the database it migrates (deploy it with its own release's deploy.sh)" ;;
  esac
  die "kura db identity cannot name the database of this configuration: $why"
else
  say "database: not there yet (first install; kura migrate up makes it)"
fi

# 1. The pre-deploy backup, with the new binary (the one that migrates).
# A first install (no kura under the prefix yet) has nothing to back up.
backup_name=
if [ -e "$current" ]; then
  backup_json=$(kura_run "$new" backup create -- --json) || die "the pre-deploy backup failed (above): nothing was changed"
  # The manifest's own "name" comes first (its tables' names follow).
  backup_name=$(printf '%s\n' "$backup_json" | json_field name)
  [ -n "$backup_name" ] || die "kura backup create --json gave no name: $backup_json"
  backup_path=$(printf '%s\n' "$backup_json" | json_field path)
  say "pre-deploy backup: $backup_name ($backup_path)"
  # Taken as root into the service's folder: the files go to the folder's
  # owner (the service's user), whose prune and list read them.
  backup_dir=$(dirname "$backup_path")
  if [ "$(id -u)" = 0 ] && [ "$(stat -c %u:%g "$backup_dir")" != 0:0 ]; then
    chown "$(stat -c %u:%g "$backup_dir")" "$backup_path" "$backup_dir/$backup_name.json"
  fi
  # The backup must be of the database the migrations change.
  source_of <<<"$(printf '%s\n' "$backup_json" | sed -n '/"source": *{/,/}/p')"
  if ! same_database "$src_id" "$src_where" "$db_id" "$db_where"; then
    die "the pre-deploy backup $backup_name is of $src_text, not of $db_text, which the migrations would change: stopped, nothing migrated"
  fi
else
  say "first install: no kura in $bin yet, so no pre-deploy backup"
fi

restore_hint() {
  [ -n "$backup_name" ] || return 0
  local var=DATABASE_URL stop=
  if [ -n "${cfg_val[KURA_MIGRATE_DATABASE_URL]+set}" ]; then var=KURA_MIGRATE_DATABASE_URL; fi
  say "if a migration must be undone, restore the pre-deploy backup into $db_where (docs/DEPLOY.md, Rolling back):"
  if [ -n "$unit" ]; then
    say "  systemctl stop $unit      # kura refuses to restore under a running server"
    stop="systemctl start $unit"
  fi
  case $db_where in
    "sqlite file "*)
      local db=${db_where#sqlite file }
      db=${db% on *}
      say "  cd $cfg_dir && $1 backup restore --env-file= --dir $backup_dir --to $db --force $backup_name"
      say "  chown --reference=$(dirname "$db") $db      # the service's user owns its database"
      ;;
    *)
      # The URL, with its password, is the service's: kura reads it from
      # the variable where the service gets it, never from the command line.
      if [ -n "${cfg_from[$var]-}" ]; then
        say "  cd $cfg_dir && $1 backup restore --env-file ${cfg_from[$var]} --dir $backup_dir --to-env $var --force $backup_name"
      else
        say "  read -rs $var && export $var      # paste its URL, as the service gets it${unit:+ (systemctl show $unit -p Environment)}"
        say "  cd $cfg_dir && $1 backup restore --env-file= --dir $backup_dir --to-env $var --force $backup_name"
      fi
      ;;
  esac
  [ -z "$stop" ] || say "  $stop"
}

# 2. Migrations, before the swap: a failure leaves the old binary serving.
# The database is named again just before: the one backed up, or nothing.
# On a first install under systemd the service's folder may not exist yet
# (systemd makes StateDirectory= when it starts it): kura serve migrates
# then (KURA_AUTO_MIGRATE, on by default).
if [ ! -d "$cfg_dir" ]; then
  [ ! -e "$current" ] || die "the service's folder $cfg_dir (WorkingDirectory=) does not exist: start the service once, or make it"
  say "first install: $cfg_dir is made when the service starts, and kura serve migrates the database then"
elif [ -n "$backup_name" ]; then
  backed_id=$db_id backed_where=$db_where backed_text=$db_text
  database || die "kura db identity cannot name the database any more: stopped, nothing migrated"
  same_database "$backed_id" "$backed_where" "$db_id" "$db_where" ||
    die "the configuration now names $db_text, not $backed_text, which was backed up: stopped, nothing migrated"
fi
if [ -d "$cfg_dir" ]; then
  if ! kura_run "$new" migrate up --; then
    say "migrations failed: the previous binary still serves, unchanged"
    restore_hint "$given"
    exit 1
  fi
  database || true
  say "migrated: ${db_text:-the database}"
  # Made as root on a first install: the database file goes to its
  # folder's owner (the service's user), as systemd gives it the folder.
  case $db_where in
    "sqlite file "*)
      db_file=${db_where#sqlite file }
      db_file=${db_file% on *}
      if [ "$(id -u)" = 0 ] && [ -e "$db_file" ] && [ "$(stat -c %u:%g "$db_file")" != "$(stat -c %u:%g "$(dirname "$db_file")")" ]; then
        chown "$(stat -c %u:%g "$(dirname "$db_file")")" "$db_file" "$db_file"-wal "$db_file"-shm 2>/dev/null || true
      fi
      ;;
  esac
fi

# --- The swap and the restart ------------------------------------------

# health_once asks the installed binary whether the service answers
# /health with 200.
health_once() {
  if [ -n "$health_url" ]; then
    "$current" healthcheck --url "$health_url" --timeout 2s >/dev/null 2>&1
  else
    kura_run "$current" healthcheck -- --timeout 2s >/dev/null 2>&1
  fi
}

# unit_state prints the unit's state as KEY=VALUE lines.
unit_state() {
  systemctl show "$unit" --property=ActiveState --property=SubState --property=MainPID \
    --property=ExecMainStatus --property=ExecMainCode --property=NRestarts 2>/dev/null || true
}

state_of() { printf '%s\n' "$1" | sed -n "s/^$2=//p"; }

# exited says, when systemd reports that the process started by the
# restart has exited (failed, restarting, stopped, or another process),
# how it ended, with the unit's last log lines.
exited() {
  [ -n "$unit" ] || return 1
  local st active sub pid code status restarts how
  st=$(unit_state)
  active=$(state_of "$st" ActiveState) sub=$(state_of "$st" SubState) pid=$(state_of "$st" MainPID)
  code=$(state_of "$st" ExecMainCode) status=$(state_of "$st" ExecMainStatus) restarts=$(state_of "$st" NRestarts)
  case $active in
    active | reloading)
      if [ "$pid" = "$started_pid" ] && [ "${restarts:-0}" = "$started_restarts" ]; then return 1; fi ;;
    activating)
      if [ "$sub" != auto-restart ] && [ "${restarts:-0}" = "$started_restarts" ]; then return 1; fi ;;
  esac
  case $code in
    2 | 3) how="was killed by signal $status" ;;
    *) how="exited with status ${status:-unknown}" ;;
  esac
  say "the kura process the restart started $how before /health answered (systemd: $active/$sub); its last log lines:"
  journalctl -u "$unit" -n 20 --no-pager -o cat 2>/dev/null | sed 's/^/  | /' || say "  (journalctl -u $unit shows them)"
  return 0
}

# wait_healthy waits up to $timeout seconds for health_once, and stops
# waiting when the new process has exited.
wait_healthy() {
  local deadline=$((SECONDS + timeout))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if health_once; then return 0; fi
    if exited; then return 1; fi
    sleep 1
  done
  say "not healthy within ${timeout}s"
  return 1
}

restart() {
  say "restarting: $restart_cmd"
  # Not handing the lock's descriptor on: a service the command starts
  # would hold the lock for as long as it runs.
  local rc=0
  bash -c "$restart_cmd" 9>&- || rc=$?
  started_pid='' started_restarts=0
  if [ -n "$unit" ]; then
    local st
    st=$(unit_state)
    started_pid=$(state_of "$st" MainPID) started_restarts=$(state_of "$st" NRestarts)
    started_restarts=${started_restarts:-0}
  fi
  return $rc
}

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
say "not deployed: rolling back"
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
