package backup

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestSweep: a temporary file that a live process holds stays; one that
// nobody holds (its writer was killed), its SQLite companions and an old
// credentials file go, and Leftovers names them without removing them.
func TestSweep(t *testing.T) {
	dir := t.TempDir()
	live, err := createTemp(dir, tempPrefix+"kura-x.sqlite.gz-*")
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	for _, name := range []string{".tmp-kura-y.sql.gz-123", ".tmp-snapshot-kura.db-9", ".tmp-snapshot-kura.db-9-journal", ".tmp-cred-42", "kura-z.json"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{".tmp-cred-42", ".tmp-kura-y.sql.gz-123", ".tmp-snapshot-kura.db-9", ".tmp-snapshot-kura.db-9-journal"}
	if !locksWork {
		want = []string{".tmp-cred-42"} // the others are young
	}
	listed, err := Leftovers(dir, time.Now())
	if err != nil || !slices.Equal(listed, want) {
		t.Fatalf("Leftovers = %v, %v; want %v", listed, err, want)
	}
	removed, err := Sweep(dir, time.Now())
	if err != nil || !slices.Equal(removed, want) {
		t.Fatalf("Sweep = %v, %v; want %v", removed, err, want)
	}
	for _, name := range want {
		if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Errorf("%s is still there", name)
		}
	}
	for _, path := range []string{live.Name(), filepath.Join(dir, "kura-z.json")} {
		if _, err := os.Stat(path); err != nil {
			t.Errorf("%s was removed: %v", filepath.Base(path), err)
		}
	}
	// Its writer gone, the live one goes at the next sweep.
	live.Close()
	if removed, _ := Sweep(dir, time.Now()); locksWork && !slices.Equal(removed, []string{filepath.Base(live.Name())}) {
		t.Fatalf("after its writer closed it: swept %v", removed)
	}
}
