#!/bin/sh
# The benchmark of kura data move (docs/BENCHMARKS.md): on one SQLite file
# of 1,000,000 users, 2,000,000 notifications and 500,000 sessions,
#   1. kura data move SQLite → PostgreSQL, verification included: time, peak RSS;
#   2. pgloader on the same file, the data alone (into a database kura migrated);
#   3. the cut-over of a copy of the file served by kura serve under 50 writes/s:
#      the freeze's length and the writes lost;
#   4. five kill -9 at random moments of a move, each followed by a rerun:
#      checksums and duplicates.
# Needs a kura binary (KURA, default ./kura), PostgreSQL at PG (trust), pgloader,
# sqlite3 and GNU time. Databases are named kura_datamove_bench*; each is
# dropped and made again. STEPS picks steps (default "1 2 3 4").
set -eu
KURA=${KURA:-./kura}
FILE=${FILE:-/tmp/kura-move.db}
PG=${PG:-postgres://postgres@127.0.0.1}
OUT=${OUT:-/tmp/kura-move-bench}
STEPS=${STEPS:-1 2 3 4}
step() { case " $STEPS " in *" $1 "*) return 0 ;; esac; return 1; }
mkdir -p "$OUT"
db() { psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"; echo "$PG/$1?sslmode=disable"; }

go run ./bench/datamove -url "$FILE" -users 1000000
DATABASE_URL="$FILE" "$KURA" migrate up >/dev/null 2>&1

if step 1; then
echo "== 1. kura data move"
KURA_BENCH_TO="$(db kura_datamove_bench)"
export KURA_BENCH_TO
/usr/bin/time -v "$KURA" data move --from "$FILE" --to-env KURA_BENCH_TO --json >"$OUT/kura.json" 2>"$OUT/kura.time"
grep -E 'Elapsed|Maximum resident|User time|System time' "$OUT/kura.time"
grep -E '"(table|source_rows|match)"' "$OUT/kura.json" | paste - - -

fi

if step 2; then
echo "== 2. pgloader, data only"
PGL="$(db kura_datamove_bench_pgloader)"
DATABASE_URL="$PGL" "$KURA" migrate up >/dev/null 2>&1
cat >"$OUT/pgloader.load" <<END_OF_LOAD
LOAD DATABASE FROM sqlite://$FILE INTO ${PGL%%\?*}
WITH data only, truncate, reset sequences
INCLUDING ONLY TABLE NAMES LIKE 'users', 'notifications', 'sessions';
END_OF_LOAD
/usr/bin/time -v pgloader "$OUT/pgloader.load" >"$OUT/pgloader.out" 2>"$OUT/pgloader.time"
grep -E 'Elapsed|Maximum resident|User time|System time' "$OUT/pgloader.time"
grep -E 'Total import time' "$OUT/pgloader.out"

fi

if step 3; then
echo "== 3. cut-over under 50 writes/s"
LIVE="$OUT/live.db"
rm -f "$LIVE" "$LIVE-wal" "$LIVE-shm"
sqlite3 "$FILE" ".backup '$LIVE'" 2>/dev/null || cp "$FILE" "$LIVE"
KURA_BENCH_CUT="$(db kura_datamove_bench_cut)"
export KURA_BENCH_CUT
DATABASE_URL="$LIVE" KURA_ADDR=127.0.0.1:18080 KURA_METRICS_ADDR='' KURA_BACKUP_INTERVAL=0 KURA_RATE_LIMIT=false \
	"$KURA" serve >"$OUT/serve.log" 2>&1 &
SERVE=$!
until curl -sf http://127.0.0.1:18080/health >/dev/null; do sleep 0.2; done
go build -o "$OUT/load" ./bench/datamove
"$OUT/load" -load -addr 127.0.0.1:18080 -rate 50 -check "$KURA_BENCH_CUT" >"$OUT/load.out" 2>&1 &
LOAD=$!
sleep 10
/usr/bin/time -v "$KURA" data move --from "$LIVE" --to-env KURA_BENCH_CUT --cut-over --json >"$OUT/cut.json" 2>"$OUT/cut.time"
sleep 5
kill -INT $LOAD; wait $LOAD || true
kill -TERM $SERVE; wait $SERVE || true
grep -E '"freeze_ns"|"duration_ns"|"cut_over"|"match"' "$OUT/cut.json" | tr -d ' \n'; echo
cat "$OUT/load.out"

fi

if step 4; then
echo "== 4. five kill -9, each followed by a rerun"
KURA_BENCH_KILL="$(db kura_datamove_bench_kill)"
export KURA_BENCH_KILL
for i in 1 2 3 4 5; do
	"$KURA" data move --from "$FILE" --to-env KURA_BENCH_KILL >/dev/null 2>"$OUT/kill$i.log" &
	PID=$!
	sleep "$(shuf -i 3-25 -n 1)"
	kill -9 $PID 2>/dev/null || true
	wait $PID 2>/dev/null || true
	psql "${KURA_BENCH_KILL%%\?*}" -tAc "SELECT 'killed after ' || COALESCE(SUM(rows_copied), 0) || ' rows copied' FROM kura_data_move"
done
"$KURA" data move --from "$FILE" --to-env KURA_BENCH_KILL --json >"$OUT/kill.json" 2>"$OUT/kill-final.log"
grep -E '"(table|source_checksum|target_checksum|match|resumed)"' "$OUT/kill.json" | tr -d ' ' | paste -s -d ' '
psql "${KURA_BENCH_KILL%%\?*}" -tAc "SELECT 'duplicates: users ' || (SELECT COUNT(*) - COUNT(DISTINCT email) FROM users) ||
	', notifications ' || (SELECT COUNT(*) - COUNT(DISTINCT idempotency_key) FROM notifications) ||
	', sessions ' || (SELECT COUNT(*) - COUNT(DISTINCT token_hash) FROM sessions)"
python3 -c "
import json
a = {t['table']: t['target_checksum'] for t in json.load(open('$OUT/kura.json'))['tables']}
b = {t['table']: t['target_checksum'] for t in json.load(open('$OUT/kill.json'))['tables']}
print('checksums after the kills equal those of the uninterrupted move:', a == b)"
fi
