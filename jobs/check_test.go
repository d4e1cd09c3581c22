package jobs_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/kura-dev/kura/internal/dbtest"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

func TestNew_ErrNoSchema(t *testing.T) {
	for _, d := range dbtest.Engines {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, err := sqldb.Open(ctx, sqldb.Config{URL: dbtest.URL(t, d), Logger: dbtest.Logger(t, slog.LevelError)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			// kura's schema, not the job queue's: the mistake.
			if err := db.MigrateUp(ctx, store.Schema); err != nil {
				t.Fatal(err)
			}
			_, err = jobs.New(db, jobs.Config{})
			if !errors.Is(err, jobs.ErrNoSchema) || !strings.Contains(err.Error(), "apply jobs.Schema") ||
				!strings.Contains(err.Error(), "kura_job_clients") {
				t.Fatalf("New without jobs.Schema: %v; want ErrNoSchema naming jobs.Schema and the missing table", err)
			}
			t.Log(err)
			// Applied, New takes the database, and a job can be enqueued.
			if err := db.MigrateUp(ctx, store.Schema, jobs.Schema); err != nil {
				t.Fatal(err)
			}
			c, err := jobs.New(db, jobs.Config{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Enqueue(ctx, echoArgs{N: 1}, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// The table New checks for comes with Schema's latest version: one that
// adds a version must name its table in the check.
func TestSchema_LatestVersionMakesTheCheckedTable(t *testing.T) {
	db := openDB(t, sqldb.SQLite)
	list, err := db.MigrationStatus(context.Background(), jobs.Schema)
	if err != nil {
		t.Fatal(err)
	}
	if last := list[len(list)-1]; last.Version != 2 || last.Name != "00002_clients.sql" {
		t.Fatalf("Schema's latest version is %d %s; New checks for the table of version 2 (00002_clients.sql)", last.Version, last.Name)
	}
}

func TestEnqueueTx_TakesEitherTx(t *testing.T) {
	db := openDB(t, sqldb.SQLite)
	ctx := context.Background()
	c, err := jobs.New(db, jobs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	// The Tx of InTx, as it is.
	err = db.InTx(ctx, func(tx *sqldb.Tx) error {
		_, err := c.EnqueueTx(ctx, tx, echoArgs{N: 1}, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// A *sql.Tx of the writer.
	tx, err := db.Writer().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.EnqueueTx(ctx, tx, echoArgs{N: 2}, nil); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	rows, err := c.List(ctx, jobs.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("%d jobs; want 2", len(rows))
	}
}
