package main

import (
	"context"
	"log"
	"log/slog"
	"os"
	"runtime/pprof"

	"github.com/kura-dev/kura/datamove"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/sqldb"
)

func main() {
	ctx := context.Background()
	from, err := sqldb.Open(ctx, sqldb.Config{URL: os.Args[1]})
	if err != nil {
		log.Fatal(err)
	}
	to, err := sqldb.Open(ctx, sqldb.Config{URL: os.Args[2]})
	if err != nil {
		log.Fatal(err)
	}
	f, _ := os.Create("/tmp/dm.prof")
	pprof.StartCPUProfile(f)
	rep, err := datamove.Move(ctx, from, to, datamove.Options{Sets: []*sqldb.Migrations{sqldb.Schema, jobs.Schema}, Logger: slog.Default(), Progress: func(t string, d, n int64) { if d == n { log.Println(t, d) } }})
	pprof.StopCPUProfile()
	log.Println(rep.Duration, err)
}
