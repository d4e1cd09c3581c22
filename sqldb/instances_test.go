package sqldb_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kura-dev/kura/sqldb"
)

// TestServing: a row seen within the window serves, unless it is of this
// machine and its process is gone (killed without deleting its row); a row
// of another machine serves until its beats are a window old.
func TestServing(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	// A process that has exited: its pid runs nothing now (or, reused, a
	// process younger than its row).
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := cmd.Process.Pid
	for _, d := range engines {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := MustOpenDB(t, d)
			started := time.Now().Add(-time.Minute)
			for _, inst := range []sqldb.Instance{
				{ID: "alive", Hostname: host, PID: os.Getpid(), Addr: ":1", Version: "test", Started: started},
				{ID: "killed", Hostname: host, PID: dead, Addr: ":2", Version: "test", Started: started},
				{ID: "elsewhere", Hostname: host + "-other", PID: dead, Addr: ":3", Version: "test", Started: started},
			} {
				if err := db.Announce(ctx, inst); err != nil {
					t.Fatal(err)
				}
			}
			got, err := sqldb.Serving(ctx, db.Reader(), time.Now(), sqldb.ServingWindow)
			if err != nil {
				t.Fatal(err)
			}
			all := strings.Join(got, "\n")
			if len(got) != 2 || !strings.Contains(all, " on :1 ") || !strings.Contains(all, " on :3 ") {
				t.Fatalf("serving:\n%s\nwant the live process of this machine and the other machine's", all)
			}
			// Once the window has passed, the other machine's row stops too.
			got, err = sqldb.Serving(ctx, db.Reader(), time.Now().Add(2*sqldb.ServingWindow), sqldb.ServingWindow)
			if err != nil || len(got) != 0 {
				t.Fatalf("serving after the window: %v %v", got, err)
			}
		})
	}
}
