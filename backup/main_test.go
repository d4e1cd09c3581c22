package backup_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/kura-dev/kura/backup"
	"github.com/kura-dev/kura/internal/testenv"
)

// TestMain runs the tests, and fails them if they leave goroutines behind.
// With KURA_BACKUP_TEST_CHILD set, this test binary is instead a process
// of kura's that runs one backup command and exits, for a test to kill:
// "restore" restores the backup KURA_TEST_NAME of KURA_TEST_DIR into
// KURA_TEST_TO (with Force and OtherDatabase), "create" backs up
// KURA_TEST_URL into KURA_TEST_DIR.
func TestMain(m *testing.M) {
	if cmd := os.Getenv("KURA_BACKUP_TEST_CHILD"); cmd != "" {
		os.Exit(childMain(cmd))
	}
	testenv.VerifyNoLeaks(m)
}

func childMain(cmd string) int {
	ctx := context.Background()
	dir := os.Getenv("KURA_TEST_DIR")
	var err error
	switch cmd {
	case "restore":
		var m *backup.Manifest
		if m, err = backup.Find(dir, os.Getenv("KURA_TEST_NAME")); err == nil {
			err = backup.Restore(ctx, m, backup.Config{Dir: dir}, backup.RestoreOptions{
				To: os.Getenv("KURA_TEST_TO"), Force: true, OtherDatabase: true,
				Inspected: func(backup.Source, backup.Target) { fmt.Println("INSPECTED") },
			})
		}
	case "create":
		_, err = backup.Create(ctx, backup.Config{URL: os.Getenv("KURA_TEST_URL"), Dir: dir})
	default:
		err = fmt.Errorf("unknown child command %q", cmd)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
