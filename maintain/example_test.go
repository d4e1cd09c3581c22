package maintain_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/kura-dev/kura/maintain"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

// ExampleRun maintains an application's SQLite database: its own table
// beside kura's, found in the schema, and its own statement checked for
// the unused-index report.
func ExampleRun() {
	dir, _ := os.MkdirTemp("", "maintain-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldb.Config{URL: filepath.Join(dir, "app.db"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	if err := db.MigrateUp(ctx, store.Schema); err != nil {
		fmt.Println(err)
		return
	}
	db.Writer().ExecContext(ctx, `CREATE TABLE tags (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, name TEXT NOT NULL)`)
	db.Writer().ExecContext(ctx, `CREATE INDEX tags_name_idx ON tags (name)`)
	db.Writer().ExecContext(ctx, `CREATE INDEX tags_user_idx ON tags (user_id)`)

	r, err := maintain.Run(ctx, db, maintain.Options{
		Statements: append(store.Statements(db.Dialect()), sqldb.Statement{Name: "tags.by_user", Query: "SELECT name FROM tags WHERE user_id = ?"}),
		Budget:     &maintain.BudgetInput{Instances: 1, PoolSize: 5, MaxOverflow: 10},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range r.Steps {
		fmt.Println(s.Name, s.Status)
	}
	for _, i := range r.Unused.Unused {
		fmt.Println("unused:", i.Name, "on", i.Table)
	}
	fmt.Println("budget applicable:", r.Budget.Applicable)
	// Output:
	// quick_check done
	// optimize done
	// vacuum skipped
	// wal_checkpoint done
	// unused: tags_name_idx on tags
	// budget applicable: false
}
