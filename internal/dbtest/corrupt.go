package dbtest

import (
	"bytes"
	"database/sql"
	"os"
	"testing"

	"github.com/kura-dev/kura/sqldb"
)

// CorruptSQLiteIndex overwrites the page header of the root page of
// index in the SQLite file at path (a path or sqlite: URL; no process may
// have it open), damaging it as a failing disk would: quick_check then
// reports it, while the rest of the file still opens.
func CorruptSQLiteIndex(tb testing.TB, path, index string) {
	tb.Helper()
	path, err := sqldb.SQLitePath(path)
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		tb.Fatal(err)
	}
	var root, pageSize int64
	err = raw.QueryRow("SELECT rootpage FROM sqlite_master WHERE name = ?", index).Scan(&root)
	if err == nil {
		err = raw.QueryRow("PRAGMA page_size").Scan(&pageSize)
	}
	raw.Close()
	if err != nil {
		tb.Fatalf("find %s: %v", index, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xee}, 64), (root-1)*pageSize); err != nil {
		tb.Fatal(err)
	}
}
