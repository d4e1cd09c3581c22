#!/usr/bin/env bash
# Load benchmark: GET /api/users/{id} with random ids, against kura (cache
# off), kura with its in-process cache on, and, in the same run, a bare
# net/http handler doing the same query with the same driver and pool
# (bench/bare). Prints requests/s, p50, p99 and the ratios to the bare
# handler, for SQLite and PostgreSQL.
#
#   bench/load.sh                      # both engines, defaults below
#   ENGINES=sqlite USERS=20000 DURATION=20s CONNS=64 bench/load.sh
#   KURA_LOG_LEVEL=warn bench/load.sh  # kura without its access log, to see its cost
#
# PostgreSQL: a database named kura_bench is (re)created on PG_ADMIN_URL.
# Traffic goes only to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

ENGINES=${ENGINES:-"sqlite postgres"}
USERS=${USERS:-10000}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-1}
ROUNDS=${ROUNDS:-2}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
KURA_PORT=${KURA_PORT:-18080}
BARE_PORT=${BARE_PORT:-18081}
CACHED_PORT=${CACHED_PORT:-18082}

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

wait_port() {
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$1$2" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "nothing answered on port $1" >&2; return 1
}

# measure PORT -> "rps p50_ms p99_ms"
measure() {
  wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$work/random.lua" "http://127.0.0.1:$1" > "$work/wrk.out"
  awk '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /Requests\/sec/ { rps=$2 }
    $1=="50%" { p50=ms($2) } $1=="99%" { p99=ms($2) }
    /Non-2xx/ { bad=$NF }
    END { if (bad>0) print "non-2xx responses: " bad > "/dev/stderr"; printf "%.0f %.2f %.2f\n", rps, p50, p99 }
  ' "$work/wrk.out"
}

printf "%-9s %-6s %10s %9s %9s\n" engine server "req/s" "p50 ms" "p99 ms"
for engine in $ENGINES; do
  case $engine in
    sqlite) url="sqlite:$work/bench.db" ;;
    postgres)
      psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS kura_bench WITH (FORCE)" -c "CREATE DATABASE kura_bench"
      url="${PG_ADMIN_URL%%/postgres\?*}/kura_bench?sslmode=disable" ;;
    *) echo "unknown engine $engine" >&2; exit 2 ;;
  esac
  export DATABASE_URL=$url
  KURA_LOG_LEVEL=warn "$work/kura" users seed --env-file= --count "$USERS" >/dev/null
  # All middleware on, the access log included: a JSON line per request,
  # written to a file as a service manager would. "kura" runs with its cache
  # off, so every request queries the database like the bare handler does;
  # "cached" is the same binary with its in-process cache on (warmed up
  # below, so it measures hits).
  serve() { KURA_LOG_LEVEL=${KURA_LOG_LEVEL:-info} KURA_LOG_FORMAT=json CACHE_TTL=$2 \
    "$work/kura" serve --env-file= --addr "127.0.0.1:$1" 2>>"$work/kura.log" & pids+=($!); }
  serve "$KURA_PORT" 0
  serve "$CACHED_PORT" 300
  "$work/bare" -addr "127.0.0.1:$BARE_PORT" 2>/dev/null & pids+=($!)
  wait_port "$KURA_PORT" /health/live; wait_port "$CACHED_PORT" /health/live; wait_port "$BARE_PORT" /api/users/1
  # Warm up, then alternate rounds so none gets the quieter machine.
  for port in "$KURA_PORT" "$CACHED_PORT" "$BARE_PORT"; do DURATION=3s measure "$port" >/dev/null; done
  best_k=(0 0 0); best_c=(0 0 0); best_b=(0 0 0)
  for _ in $(seq 1 "$ROUNDS"); do
    k=($(measure "$KURA_PORT")); c=($(measure "$CACHED_PORT")); b=($(measure "$BARE_PORT"))
    [ "${k[0]}" -gt "${best_k[0]}" ] && best_k=("${k[@]}")
    [ "${c[0]}" -gt "${best_c[0]}" ] && best_c=("${c[@]}")
    [ "${b[0]}" -gt "${best_b[0]}" ] && best_b=("${b[@]}")
  done
  printf "%-9s %-6s %10s %9s %9s\n" "$engine" kura "${best_k[@]}"
  printf "%-9s %-6s %10s %9s %9s\n" "$engine" cached "${best_c[@]}"
  printf "%-9s %-6s %10s %9s %9s\n" "$engine" bare "${best_b[@]}"
  awk -v k="${best_k[0]}" -v c="${best_c[0]}" -v b="${best_b[0]}" -v e="$engine" \
    'BEGIN { printf "%-9s ratio  %10.2fx kura / bare, %.2fx cached / bare (best of rounds)\n", e, k/b, c/b }'
  kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; pids=()
  if [ "$engine" = postgres ]; then psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS kura_bench WITH (FORCE)"; fi
done
