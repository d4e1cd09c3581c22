#!/usr/bin/env bash
# Instructions per request: GET /api/users/{id} on kura and on the tuned
# baseline, counted by valgrind's callgrind. Unlike requests per second,
# an instruction count does not move with whatever else runs on the
# machine, so two sittings compare.
#
# Each server runs under callgrind, as bench/load.sh runs it (kura serve
# with the cache off and every middleware, the JSON access log to a file
# and the metrics on; bench/bare; kura with its cache warm; constant
# JSON). curl sends GET /api/users/1 to N on CONNS keep-alive connections
# once to warm up (the cache, the pools, the prepared statements), the
# counters are zeroed, the same N requests go again, and the counters are
# dumped: instructions per request are the dump's total over N.
#
# By default the servers run with GOMAXPROCS=1 and take one request at a
# time (CONNS=1): then two runs agree within about 1%. With more
# processors and connections the count also holds the runtime's spinning
# and the drivers' timers, which under valgrind's one-thread-at-a-time
# scheduling vary by several percent between runs. The whole process is counted: the runtime, the
# garbage collector, the log writer's goroutine, the database driver (but
# not the database server's own work on PostgreSQL and MariaDB).
#
#   bench/callgrind.sh                         # SQLite, PostgreSQL and MariaDB
#   ENGINES=sqlite N=2000 bench/callgrind.sh
#   OUT=/tmp/cg bench/callgrind.sh             # keep the profiles, then:
#   callgrind_annotate --inclusive=yes /tmp/cg/sqlite-kura.out | less
#
# Go under valgrind 3.19 needs two runtime settings, set here: no
# asynchronous preemption (callgrind asserts on its signals) and no RDTSCP
# (valgrind does not decode it). Traffic goes only to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

ENGINES=${ENGINES:-"sqlite postgres mysql"}
SERVERS=${SERVERS:-"kura bare cached const"}
N=${N:-2000}
CONNS=${CONNS:-1}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
MYSQL_URL=${MYSQL_URL:-mysql://root@127.0.0.1:3306/kura_callgrind}
PORT=${PORT:-18280}

command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }

work=$(mktemp -d)
OUT=${OUT:-$work}
mkdir -p "$OUT"
cleanup() { if [ -f "$work/pid" ]; then kill "$(cat "$work/pid")" 2>/dev/null || true; fi; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/kura" ./cmd/kura
go build -o "$work/bare" ./bench/bare
export GOMAXPROCS=${GOMAXPROCS:-1}

# get: GET /api/users/1 to N, on CONNS keep-alive connections.
get() { curl -sf --no-progress-meter -Z --parallel-max "$CONNS" "http://127.0.0.1:$PORT/api/users/[1-$N]"; }

# count ENGINE NAME CMD... -> instructions per request of the server CMD
# starts on $PORT, its profile kept as $OUT/ENGINE-NAME.out.
count() {
  local engine=$1 name=$2 path=/health/live; shift 2
  if [ "$name" = bare ] || [ "$name" = const ]; then path=/api/users/1; fi
  GODEBUG=asyncpreemptoff=1,cpu.rdtscp=off valgrind --tool=callgrind --callgrind-out-file="$work/$name.out" "$@" 2>"$work/$name.log" &
  local pid=$!
  echo "$pid" >"$work/pid"
  for _ in $(seq 1 600); do
    curl -sf -o /dev/null "http://127.0.0.1:$PORT$path" && break
    sleep 0.1
  done
  get >/dev/null # the warm-up, the same ids: the cache, the pools and the statements warm
  callgrind_control -z "$pid" >/dev/null
  get >/dev/null
  callgrind_control -d "$pid" >/dev/null
  kill "$pid"; wait "$pid" 2>/dev/null || true; rm -f "$work/pid"
  mv "$work/$name.out.1" "$OUT/$engine-$name.out"
  callgrind_annotate "$OUT/$engine-$name.out" 2>/dev/null |
    awk -v n="$N" '/PROGRAM TOTALS/ { gsub(",", "", $1); printf "%.0f\n", $1 / n }'
}

printf "%-9s %-7s %12s\n" engine server "Ir/request"
for engine in $ENGINES; do
  case $engine in
    sqlite) url="sqlite:$work/bench.db" ;;
    postgres)
      psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS kura_callgrind WITH (FORCE)" -c "CREATE DATABASE kura_callgrind"
      url="${PG_ADMIN_URL%%/postgres\?*}/kura_callgrind?sslmode=disable" ;;
    mysql)
      mysql -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS kura_callgrind; CREATE DATABASE kura_callgrind"
      url=$MYSQL_URL ;;
    *) echo "unknown engine $engine" >&2; exit 2 ;;
  esac
  export DATABASE_URL=$url
  KURA_LOG_LEVEL=warn "$work/kura" users seed --env-file= --count "$N" >/dev/null
  declare -A ir=()
  for name in $SERVERS; do
    case $name in
      kura|cached)
        ttl=0; [ "$name" = cached ] && ttl=300
        ir[$name]=$(KURA_LOG_LEVEL=info KURA_LOG_FORMAT=json CACHE_TTL=$ttl KURA_WORKERS=0 KURA_RATE_LIMIT=false \
          KURA_METRICS_ADDR="127.0.0.1:$((PORT + 1000))" \
          count "$engine" "$name" "$work/kura" serve --env-file= --addr "127.0.0.1:$PORT") ;;
      bare) ir[$name]=$(count "$engine" "$name" "$work/bare" -addr "127.0.0.1:$PORT") ;;
      const) ir[$name]=$(count "$engine" "$name" "$work/bare" -const -addr "127.0.0.1:$PORT") ;;
    esac
    printf "%-9s %-7s %12s\n" "$engine" "$name" "${ir[$name]}"
  done
  if [ -n "${ir[kura]:-}" ] && [ -n "${ir[bare]:-}" ]; then
    awk -v k="${ir[kura]}" -v b="${ir[bare]}" -v e="$engine" 'BEGIN { printf "%-9s ratio   %.2fx kura / bare (bare'"'"'s instructions over kura'"'"'s)\n", e, b/k }'
  fi
  if [ -n "${ir[cached]:-}" ] && [ -n "${ir[const]:-}" ]; then
    awk -v c="${ir[cached]}" -v h="${ir[const]}" -v e="$engine" 'BEGIN { printf "%-9s ratio   %.2fx cached / const\n", e, h/c }'
  fi
  unset ir
  if [ "$engine" = postgres ]; then psql -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS kura_callgrind WITH (FORCE)"; fi
  if [ "$engine" = mysql ]; then mysql -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS kura_callgrind"; fi
done
