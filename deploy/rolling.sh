#!/usr/bin/env bash
# rolling.sh: upgrade several kura instances behind haproxy, one at a time,
# with no failed request.
#
#   rolling.sh [options] --instance NAME=URL... NEW_BINARY
#
# For each instance in the order given: drain it in haproxy through the
# runtime API (set server BACKEND/NAME state drain: no new request goes
# there) and wait until its connections have ended; run the deploy command,
# which puts NEW_BINARY in service on that instance (swap the binary,
# restart: kura itself drains again on SIGTERM); wait until the instance's
# GET /health/ready answers 200; re-enable it (state ready) and wait until
# haproxy's own check reports it UP. Only then the next one.
#
# On the first instance whose deploy command fails or that is not ready in
# time, it stops: that instance and the ones already upgraded are put back
# on --previous BINARY, the same way, in reverse order, and the rest were
# never touched. The database migrations, if any, are the deploy command's
# (deploy.sh applies them on the first instance, with its pre-deploy
# backup); they must suit the previous binary too, as kura's do.
#
# Options (each also read from the environment variable in brackets):
#   --instance NAME=URL  an instance: its server name in haproxy's backend
#                        and its own base URL (http://10.0.0.11:8080);
#                        repeat for each, in the order of the upgrade
#   --deploy CMD         the command that puts a binary in service on one
#                        instance, run as CMD NAME BINARY; it returns when
#                        the instance has been restarted, such as
#                        "ssh-deploy" wrapping deploy.sh on the instance's
#                        host [KURA_ROLLING_DEPLOY]
#   --previous BINARY    the binary the instances run now, for the roll back
#                        [KURA_ROLLING_PREVIOUS]; without it a failure stops
#                        the upgrade and says which instances run what
#   --socket PATH        haproxy's runtime API (stats socket ... level admin)
#                        [KURA_HAPROXY_SOCKET, default /run/haproxy/kura.sock]
#   --backend NAME       haproxy's backend [KURA_HAPROXY_BACKEND, default kura]
#   --timeout SECONDS    how long to wait for each drain, readiness and UP
#                        [KURA_HEALTH_TIMEOUT, default 60]
#   -h, --help           this text
#
# Needs socat (haproxy's runtime API) and curl.
#
# Exit status: 0 every instance upgraded; 1 stopped and rolled back, every
# instance serving the previous binary; 2 stopped, and the roll back did not
# complete either: look now.
set -euo pipefail

prog=rolling.sh
deploy_cmd=${KURA_ROLLING_DEPLOY:-}
previous=${KURA_ROLLING_PREVIOUS:-}
socket=${KURA_HAPROXY_SOCKET:-/run/haproxy/kura.sock}
backend=${KURA_HAPROXY_BACKEND:-kura}
timeout=${KURA_HEALTH_TIMEOUT:-60}
names=()
urls=()

say() { printf '%s: %s\n' "$prog" "$*"; }
die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

while [ $# -gt 0 ]; do
  case $1 in
    --instance)
      inst=${2:?--instance needs NAME=URL}
      [[ $inst == ?*=http*://?* ]] || die "--instance $inst: want NAME=URL, such as kura1=http://10.0.0.11:8080"
      names+=("${inst%%=*}") urls+=("${inst#*=}")
      shift 2
      ;;
    --deploy) deploy_cmd=${2:?--deploy needs a command}; shift 2 ;;
    --previous) previous=${2:?--previous needs a binary}; shift 2 ;;
    --socket) socket=${2:?--socket needs a path}; shift 2 ;;
    --backend) backend=${2:?--backend needs a name}; shift 2 ;;
    --timeout) timeout=${2:?--timeout needs seconds}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    -*) usage >&2; die "unknown option $1" ;;
    *) break ;;
  esac
done
[ $# -eq 1 ] || { usage >&2; die "give one NEW_BINARY (got $# arguments)"; }
new=$1
[ -f "$new" ] || die "NEW_BINARY $new: no such file"
[ -z "$previous" ] || [ -f "$previous" ] || die "--previous $previous: no such file"
[ ${#names[@]} -gt 0 ] || die "no --instance NAME=URL given: name each instance, in the order of the upgrade"
[ -n "$deploy_cmd" ] || die "no --deploy CMD given: the command that puts a binary in service on one instance (run as CMD NAME BINARY)"
case $timeout in
  '' | *[!0-9]*) die "--timeout (KURA_HEALTH_TIMEOUT): \"$timeout\" is not a whole number of seconds" ;;
esac
command -v socat >/dev/null 2>&1 || die "socat is not installed (apt-get install socat): it speaks to haproxy's runtime API"
command -v curl >/dev/null 2>&1 || die "curl is not installed (apt-get install curl)"

# haproxy CMD...: one command on the runtime API; its answer on stdout.
haproxy() { printf '%s\n' "$*" | socat -t 5 - "UNIX-CONNECT:$socket"; }

# server_field NAME FIELD: a field of the server's line in "show stat"
# (status: UP, DOWN, DRAIN, MAINT; scur: its current connections).
server_field() {
  haproxy "show stat" | awk -F, -v be="$backend" -v sv="$1" -v f="$2" '
    NR == 1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) col[$i] = i; next }
    $1 == be && $2 == sv { print $col[f]; exit }'
}

# Every instance must be a server of the backend, and UP, before anything
# changes: a rolling upgrade of a degraded cluster would take it down.
out=$(haproxy "show stat" 2>&1) || die "haproxy's runtime API at $socket does not answer ($out): give --socket the path of its \"stats socket ... level admin\""
for name in "${names[@]}"; do
  st=$(server_field "$name" status)
  [ -n "$st" ] || die "haproxy's backend $backend has no server $name: name each --instance as its server line does"
  [ "$st" = UP ] || die "$name is $st in haproxy, not UP: repair it first; nothing was changed"
done

# wait_until SECONDS WHAT CMD...: wait until CMD succeeds.
wait_until() {
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  while [ "$SECONDS" -lt "$deadline" ]; do
    if "$@"; then return 0; fi
    sleep 0.5
  done
  say "$what: not within ${timeout}s"
  return 1
}

ready() { [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$1/health/ready")" = 200 ]; }
idle() { [ "$(server_field "$1" scur)" = 0 ]; }
up() { [ "$(server_field "$1" status)" = UP ]; }

# upgrade NAME URL BINARY: drain, deploy, wait ready, re-enable, wait UP.
upgrade() {
  local name=$1 url=$2 binary=$3
  say "$name: draining in haproxy"
  haproxy "set server $backend/$name state drain" >/dev/null
  wait_until "$timeout" "$name: connections to end" idle "$name" ||
    say "$name: deploying with connections still open (kura drains them on SIGTERM)"
  say "$name: deploying $binary"
  if ! bash -c "$deploy_cmd \"\$@\"" rolling "$name" "$binary" 9>&-; then
    say "$name: the deploy command failed"
    return 1
  fi
  wait_until "$timeout" "$name: GET $url/health/ready to answer 200" ready "$url" || return 1
  haproxy "set server $backend/$name state ready" >/dev/null
  wait_until "$timeout" "$name: haproxy to report it UP" up "$name" || return 1
  say "$name: serving"
}

version=$("$new" version 2>&1) || die "$new does not run on this host: $version"
say "upgrading ${#names[@]} instances to $version, one at a time"
done_n=0
for i in "${!names[@]}"; do
  if upgrade "${names[i]}" "${urls[i]}" "$new"; then
    done_n=$((done_n + 1))
    continue
  fi
  say "stopped at ${names[i]}: ${names[*]:i+1} not touched"
  if [ -z "$previous" ]; then
    say "no --previous binary: ${names[*]:0:i} run $version, ${names[i]} is in doubt; put the previous binary back by hand"
    exit 2
  fi
  rc=1
  for ((j = i; j >= 0; j--)); do
    upgrade "${names[j]}" "${urls[j]}" "$previous" || { say "${names[j]}: the roll back failed too"; rc=2; }
  done
  if [ "$rc" = 1 ]; then say "rolled back: every instance runs $previous again"; fi
  exit "$rc"
done
say "upgraded: all $done_n instances run $version"
