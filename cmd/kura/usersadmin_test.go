package main

import (
	"encoding/json"
	"io"
	"strings"
	"testing"
)

// TestUsers_ManageCommands drives kura users list, promote, demote,
// disable, enable and audit as an operator would, with and without
// --json, on the three engines: users are named by id, email or user
// name; a change already made is no change and is not audited; bad input
// exits non-zero with a clear message and changes nothing.
func TestUsers_ManageCommands(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dbURL string) {
		env := []string{"DATABASE_URL=" + dbURL, passwordEnv + "=a long enough password"}
		kura := func(args ...string) string {
			t.Helper()
			out, logs, err := runKura(t, env, "", args...)
			if err != nil {
				t.Fatalf("kura %s: %v\n%s%s", strings.Join(args, " "), err, out, logs)
			}
			return out
		}
		kura("users", "create", "--email", "root@example.com", "--username", "root", "--admin")
		kura("users", "create", "--email", "ann@example.com", "--username", "ann")

		var list listOutput[userOutput]
		mustJSON(t, kura("users", "list", "--json"), &list)
		if len(list.Items) != 2 || list.Items[0].Username != "ann" || list.Items[1].Role != "admin" || list.Items[0].Disabled {
			t.Fatalf("users list --json: %+v", list)
		}
		var u userOutput
		mustJSON(t, kura("users", "promote", "ann", "--json"), &u)
		if u.Role != "admin" || u.Username != "ann" {
			t.Fatalf("users promote ann --json: %+v", u)
		}
		if out := kura("users", "demote", "ANN@example.com"); !strings.Contains(out, "role user, active") {
			t.Fatalf("users demote: %q", out)
		}
		kura("users", "disable", "--json", "Ann")
		kura("users", "disable", "ann") // no change: not audited
		if out := kura("users", "list"); !strings.Contains(out, "disabled") || !strings.Contains(out, "USERNAME") {
			t.Fatalf("users list:\n%s", out)
		}
		mustJSON(t, kura("users", "enable", "2", "--json"), &u)
		if u.Disabled || u.ID != 2 {
			t.Fatalf("users enable 2: %+v", u)
		}

		var audit listOutput[auditOutput]
		mustJSON(t, kura("users", "audit", "--json"), &audit)
		var actions []string
		for _, e := range audit.Items {
			actions = append(actions, e.Action)
			if e.ActorID != nil || !strings.HasPrefix(e.Actor, "operator:") || *e.TargetID != 2 {
				t.Fatalf("an operator's entry: %+v", e)
			}
		}
		if got, want := strings.Join(actions, " "), "user.enable user.disable user.role user.role"; got != want {
			t.Fatalf("audit actions %q; want %q", got, want)
		}
		mustJSON(t, kura("users", "audit", "--json", "--limit", "3"), &audit)
		if len(audit.Items) != 3 || audit.NextCursor == "" {
			t.Fatalf("users audit --limit 3: %+v", audit)
		}
		mustJSON(t, kura("users", "audit", "--json", "--cursor", audit.NextCursor), &audit)
		if len(audit.Items) != 1 || audit.Items[0].Detail == nil {
			t.Fatalf("users audit's second page: %+v", audit)
		}

		for _, c := range []struct {
			args []string
			code int
			says string
		}{
			{[]string{"users", "promote"}, 2, "give the user"},
			{[]string{"users", "promote", "ann", "bob"}, 2, "unexpected: bob"},
			{[]string{"users", "promote", "nobody"}, 1, `no user with the email or user name "nobody"`},
			{[]string{"users", "disable", "999"}, 1, "no user with id 999"},
			{[]string{"users", "demote", "root"}, 1, "last active admin"},
			{[]string{"users", "disable", "root@example.com"}, 1, "last active admin"},
			{[]string{"users", "list", "--limit", "101"}, 1, "limit must be between 1 and 100"},
			{[]string{"users", "audit", "--cursor", "bogus"}, 1, "cursor"},
			{[]string{"users", "list", "extra"}, 2, "no arguments"},
		} {
			_, _, err := runKura(t, env, "", c.args...)
			if code := exitCode(err, io.Discard); code != c.code || !strings.Contains(err.Error(), c.says) {
				t.Errorf("kura %s: exit %d, %v; want %d saying %q", strings.Join(c.args, " "), code, err, c.code, c.says)
			}
		}
		mustJSON(t, kura("users", "list", "--json"), &list)
		if list.Items[1].Role != "admin" || list.Items[1].Disabled {
			t.Fatalf("refused commands changed root: %+v", list.Items[1])
		}
	})
}

func mustJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decode %v: %s", err, s)
	}
}
