#!/usr/bin/env bash
# Times the admin console's pages on a database of many users, and prints
# the plans of its user queries. Usage:
#
#   DATABASE_URL=... bench/console/run.sh
#
# on a database seeded first (kura users seed --count 1000000). It makes an
# admin (bench-admin), serves kura on 127.0.0.1:18532, signs in through
# the console's form, then asks each page RUNS times (21) in turn and
# prints the median, the 95th percentile and the slowest, in milliseconds, as curl measured
# them (the whole answer, on loopback). Then the plans of the list, the
# deep keyset page and the two prefix searches, on the engine at hand.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${DATABASE_URL:?set DATABASE_URL to a seeded database}"
runs=${RUNS:-21}
addr=127.0.0.1:18532
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/kura" ./cmd/kura
export KURA_USER_PASSWORD="bench admin password 1"
"$work/kura" users create --env-file= --email bench-admin@example.com --username bench-admin --admin >/dev/null 2>&1 || true
KURA_ADDR=$addr KURA_BACKUP_DIR="$work/backups" KURA_BACKUP_INTERVAL=0 KURA_METRICS_ADDR='' KURA_LOG_LEVEL=warn \
  "$work/kura" serve --env-file= >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -fs "http://$addr/health/live" >/dev/null && break; sleep 0.2; done
curl -fs -c "$work/jar" -o /dev/null --data-urlencode login=bench-admin --data-urlencode "password=$KURA_USER_PASSWORD" "http://$addr/admin/login"

# A seeded user's run (seed-RUN-I@example.com, sRUN_I) for the searches.
run=$(curl -fs -b "$work/jar" "http://$addr/admin/users" | grep -o 'seed-[a-z0-9]*-' | head -1 | cut -d- -f2)
deep=$(printf 'id:500000' | base64 | tr '+/' '-_' | tr -d '=')
pages=(
  "/admin/"
  "/admin/users"
  "/admin/users?after=$deep"
  "/admin/users?q=seed-$run-5000&by=email"
  "/admin/users?q=s${run}_99999&by=username"
  "/admin/users?q=nobody-at-all&by=email"
  "/admin/users/500000"
  "/admin/jobs"
  "/admin/audit"
  "/admin/backups"
)
echo "engine: ${DATABASE_URL%%:*}"
printf '%-50s %8s %8s %8s\n' page median_ms p95_ms max_ms
for p in "${pages[@]}"; do
  for _ in $(seq 1 "$runs"); do
    curl -s -b "$work/jar" -o /dev/null -w '%{http_code} %{time_total}\n' "http://$addr$p"
  done | awk -v p="$p" '$1 != 200 { bad = $1 } { t[NR] = $2 * 1000 } END {
    n = asort(t); if (bad) p = p " (status " bad ")"
    printf "%-50s %8.1f %8.1f %8.1f\n", p, t[int((n + 1) / 2)], t[int(n * 0.95 + 0.5)], t[n] }'
done

email="seed-$run-5000"
user="s${run}_99999"
like_user="${user//_/!_}" # as the store escapes it
cols="id, email, username, role, created_at, updated_at"
case "$DATABASE_URL" in
postgres*)
  q() { psql "$DATABASE_URL" -XAtc "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) $1"; }
  key_e='lower(email) COLLATE "C"'; key_u='lower(username) COLLATE "C"'
  ;;
mysql*)
  u=${DATABASE_URL#mysql://}; hostdb=${u#*@}; db=${hostdb#*/}; db=${db%%\?*}
  q() { mysql -uroot -h127.0.0.1 "$db" -e "EXPLAIN $1"; }
  key_e=email; key_u=username
  ;;
*)
  f=${DATABASE_URL#sqlite:}
  q() { sqlite3 "$f" "EXPLAIN QUERY PLAN $1"; }
  key_e=email; key_u=username
  ;;
esac
range_e="" range_u=""
if [[ $DATABASE_URL == postgres* ]]; then
  range_e=" AND $key_e >= '$email' AND $key_e < '$email'||chr(1114111)"
  range_u=" AND $key_u >= '$user' AND $key_u < '$user'||chr(1114111)"
fi
echo "-- users, newest first (first page)"
q "SELECT $cols FROM users ORDER BY id DESC LIMIT 51"
echo "-- users, a deep keyset page"
q "SELECT $cols FROM users WHERE id < 500000 ORDER BY id DESC LIMIT 51"
echo "-- email prefix"
q "SELECT $cols FROM users WHERE $key_e LIKE '$email%' ESCAPE '!'$range_e ORDER BY $key_e LIMIT 51"
echo "-- username prefix"
q "SELECT $cols FROM users WHERE $key_u LIKE '$like_user%' ESCAPE '!'$range_u ORDER BY $key_u LIMIT 51"
