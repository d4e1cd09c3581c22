#!/usr/bin/env bash
# Load benchmark: GET /api/users/{id} with random ids, in one sitting,
# against
#   kura    kura serve with its cache off (every request queries the
#           database) and every middleware on, the access log included;
#   bare    the tuned baseline (bench/bare): the same query by hand with the
#           same driver, prepared per connection on SQLite and MySQL, on a
#           native pgxpool on PostgreSQL, encoding/json, a pool of its own;
#   cached  kura serve with its in-process cache on and warm;
#   const   a net/http handler writing constant JSON: the HTTP ceiling.
# Prints requests/s, p50, p99, the server's CPU per request and its peak
# RSS, and the ratios kura/bare and cached/const. Then the budgets: the time
# from start to serving, and the peak RSS under a burst of registrations.
#
#   bench/load.sh                      # SQLite, PostgreSQL and MariaDB, defaults below
#   ENGINES=sqlite USERS=20000 DURATION=20s CONNS=64 bench/load.sh
#   KURA_LOG_FLUSH_INTERVAL=0 bench/load.sh   # kura writing each log line at once
#   PROFILES=1 bench/load.sh           # every seeded user gets a profile of ~250 bytes
#
# PostgreSQL: a database named kura_bench is (re)created on PG_ADMIN_URL.
# Traffic goes only to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

ENGINES=${ENGINES:-"sqlite postgres mysql"}
USERS=${USERS:-10000}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-50}
THREADS=${THREADS:-1}
ROUNDS=${ROUNDS:-2}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
MYSQL_URL=${MYSQL_URL:-mysql://root@127.0.0.1:3306/kura_bench}
KURA_PORT=${KURA_PORT:-18080}
BARE_PORT=${BARE_PORT:-18081}
CACHED_PORT=${CACHED_PORT:-18082}
CONST_PORT=${CONST_PORT:-18083}

if ! command -v wrk >/dev/null; then
  echo "installing wrk from Debian's packages" >&2
  (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null
fi

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]:-}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/kura" ./cmd/kura
go build -o "$work/bare" ./bench/bare

cat > "$work/random.lua" <<LUA
math.randomseed(os.time())
local n = tonumber(os.getenv("USERS"))
request = function() return wrk.format("GET", "/api/users/" .. math.random(1, n)) end
LUA
export USERS

# cpu_ticks PID -> user+system clock ticks the process has used
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# peak_rss_mb PID -> the process's peak resident set, in MiB
peak_rss_mb() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))

# measure PORT PID -> "rps p50_ms p99_ms cpu_us_per_request"
measure() {
  local t0; t0=$(cpu_ticks "$2")
  wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$work/random.lua" "http://127.0.0.1:$1" > "$work/wrk.out"
  local ticks=$(( $(cpu_ticks "$2") - t0 ))
  awk -v ticks="$ticks" -v tick_us="$TICK_US" '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /Requests\/sec/ { rps=$2 }
    / requests in / { n=$1 }
    $1=="50%" { p50=ms($2) } $1=="99%" { p99=ms($2) }
    /Non-2xx/ { bad=$NF }
    END { if (bad>0) print "non-2xx responses: " bad > "/dev/stderr"; printf "%.0f %.2f %.2f %.1f\n", rps, p50, p99, ticks*tick_us/n }
  ' "$work/wrk.out"
}

# start NAME PORT CMD... -> starts a server, waits until it answers, and
# records its pid in PID[NAME] and the milliseconds from start to serving
# in UP_MS[NAME].
declare -A PID=() UP_MS=()
start() {
  local name=$1 port=$2 path=/health/live; shift 2
  if [ "$name" = bare ] || [ "$name" = const ]; then path=/api/users/1; fi
  local t0; t0=$(date +%s%N)
  "$@" 2>>"$work/$name.log" &
  PID[$name]=$!; pids+=($!)
  # (serve execs kura, so the pid is the server's own.)
  for _ in $(seq 1 1000); do
    curl -sf -o /dev/null "http://127.0.0.1:$port$path" && break
    sleep 0.01
  done
  UP_MS[$name]=$(( ($(date +%s%N) - t0) / 1000000 ))
}

# fill_profiles ENGINE URL -> gives every user a profile document of about
# 250 bytes, as bench/profile seeds them (bio, city, avatar_url, prefs).
fill_profiles() {
  local bio="A profile of the usual size: a sentence or two about the user, their work and where to find them."
  case $1 in
    sqlite) sqlite3 "${2#sqlite:}" "UPDATE users SET profile = json_object('avatar_url', 'https://img.example/' || id || '.png',
      'bio', '$bio', 'city', 'city ' || (id % 1000), 'prefs', json_object('theme', 'dark'))" ;;
    postgres) psql -q "$2" -c "UPDATE users SET profile = jsonb_build_object('avatar_url', 'https://img.example/' || id || '.png',
      'bio', '$bio', 'city', 'city ' || (id % 1000), 'prefs', jsonb_build_object('theme', 'dark'))" ;;
    mysql) mysql -uroot -h127.0.0.1 kura_bench -e "UPDATE users SET profile = JSON_OBJECT('avatar_url', CONCAT('https://img.example/', id, '.png'),
      'bio', '$bio', 'city', CONCAT('city ', id % 1000), 'prefs', JSON_OBJECT('theme', 'dark'))" ;;
  esac
}

printf "%-9s %-6s %10s %8s %8s %12s %9s\n" engine server "req/s" "p50 ms" "p99 ms" "CPU µs/req" "peak MiB"
for engine in $ENGINES; do
  case $engine in
    sqlite) url="sqlite:$work/bench.db" ;;
    postgres)
      psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS kura_bench WITH (FORCE)" -c "CREATE DATABASE kura_bench"
      url="${PG_ADMIN_URL%%/postgres\?*}/kura_bench?sslmode=disable" ;;
    mysql)
      mysql -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS kura_bench; CREATE DATABASE kura_bench"
      url=$MYSQL_URL ;;
    *) echo "unknown engine $engine" >&2; exit 2 ;;
  esac
  export DATABASE_URL=$url
  KURA_LOG_LEVEL=warn "$work/kura" users seed --env-file= --count "$USERS" >/dev/null
  if [ "${PROFILES:-0}" = 1 ]; then fill_profiles "$engine" "$url"; fi
  # The access log is on: one JSON line per request, written to a file as
  # a service manager would (buffered by kura unless KURA_LOG_FLUSH_INTERVAL=0).
  # Metrics are on too, each server with a listener of its own. Rate
  # limits are off: the registration burst comes from one address.
  serve() { KURA_LOG_LEVEL=${KURA_LOG_LEVEL:-info} KURA_LOG_FORMAT=json CACHE_TTL=$2 KURA_WORKERS=0 KURA_RATE_LIMIT=false \
    KURA_METRICS_ADDR="${KURA_METRICS_ADDR-127.0.0.1:$(($1 + 1000))}" exec "$work/kura" serve --env-file= --addr "127.0.0.1:$1"; }
  start kura "$KURA_PORT" serve "$KURA_PORT" 0
  start cached "$CACHED_PORT" serve "$CACHED_PORT" 300
  start bare "$BARE_PORT" "$work/bare" -addr "127.0.0.1:$BARE_PORT"
  start const "$CONST_PORT" "$work/bare" -const -addr "127.0.0.1:$CONST_PORT"
  # Warm up (the cache too), then alternate rounds so none gets the quieter machine.
  for s in kura:$KURA_PORT cached:$CACHED_PORT bare:$BARE_PORT const:$CONST_PORT; do
    DURATION=3s measure "${s##*:}" "${PID[${s%%:*}]}" >/dev/null
  done
  declare -A best=()
  for _ in $(seq 1 "$ROUNDS"); do
    for s in kura:$KURA_PORT bare:$BARE_PORT cached:$CACHED_PORT const:$CONST_PORT; do
      name=${s%%:*}
      r=$(measure "${s##*:}" "${PID[$name]}")
      if [ -z "${best[$name]:-}" ] || [ "${r%% *}" -gt "${best[$name]%% *}" ]; then best[$name]=$r; fi
    done
  done
  for name in kura bare cached const; do
    # shellcheck disable=SC2086
    printf "%-9s %-6s %10s %8s %8s %12s %9s\n" "$engine" "$name" ${best[$name]} "$(peak_rss_mb "${PID[$name]}")"
  done
  awk -v k="${best[kura]%% *}" -v b="${best[bare]%% *}" -v c="${best[cached]%% *}" -v h="${best[const]%% *}" -v e="$engine" \
    'BEGIN { printf "%-9s ratio  %.2fx kura / bare, %.2fx cached / const (best of rounds)\n", e, k/b, c/h }'
  echo "$engine start: kura serve answered /health/live ${UP_MS[kura]} ms after it was started (migrated database)"

  # A burst of registrations (argon2id, 19 MiB per hash, at most one per
  # CPU at once) against the uncached server: its peak RSS.
  cat > "$work/register.lua" <<LUA
counter = 0
request = function()
  counter = counter + 1
  local name = "burst" .. math.random(1, 1000000000) .. "x" .. counter
  return wrk.format("POST", "/api/users", {["Content-Type"] = "application/json"},
    '{"email":"' .. name .. '@example.com","username":"' .. name .. '","password":"a long passphrase"}')
end
LUA
  before=$(peak_rss_mb "${PID[kura]}")
  wrk -t1 -c"$CONNS" -d5s --latency -s "$work/register.lua" "http://127.0.0.1:$KURA_PORT" > "$work/reg.out"
  echo "$engine registrations: $(awk '/Requests\/sec/ { print $2 }' "$work/reg.out") /s at $CONNS connections, p99 $(awk '$1=="99%" { print $2 }' "$work/reg.out"); kura peak RSS $before MiB under reads, $(peak_rss_mb "${PID[kura]}") MiB after the burst"

  kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; pids=()
  if [ "$engine" = postgres ]; then psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS kura_bench WITH (FORCE)"; fi
  if [ "$engine" = mysql ]; then mysql -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS kura_bench"; fi
  unset best
done
