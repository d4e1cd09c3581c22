package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/kura-dev/kura/internal/testenv"
)

// TestUsers_SendReset: kura users send-reset queues the account flow's own
// reset link, which the running kura serve mails through a real Postfix;
// the link works end to end and the action is audited. It is refused,
// exit 1, for an unknown user, a disabled account and without the flows.
func TestUsers_SendReset(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dbURL string) {
		srv := testenv.SMTP(t, testenv.SMTPOptions{})
		env := []string{"DATABASE_URL=" + dbURL, "KURA_SMTP_URL=" + srv.URL(""), "KURA_MAIL_FROM=Kura <no-reply@kura.test>",
			"KURA_PUBLIC_URL=http://localhost:5173", passwordEnv + "=a long enough password"}
		run := func(args ...string) (string, error) {
			t.Helper()
			out, _, err := runKura(t, env, "", args...)
			return out, err
		}
		if _, err := run("users", "create", "--email", "ann@example.com", "--username", "ann"); err != nil {
			t.Fatal(err)
		}
		s := startKura(t, env...)

		out, err := run("users", "send-reset", "ann")
		if err != nil || !strings.Contains(out, "is queued") || !strings.Contains(out, "ann@example.com") {
			t.Fatalf("users send-reset ann: %v\n%s", err, out)
		}
		path, token := followLink(t, waitMail(t, srv, "ann@example.com", "Reset your password"))
		if path != "/reset-password" {
			t.Errorf("reset link path %s", path)
		}
		s.do(t, "POST", "/api/auth/password-reset/confirm", "", map[string]string{"token": token, "password": "a brand new passphrase"}).want(t, http.StatusNoContent)
		login(t, s, "ann", "a brand new passphrase")

		var audit listOutput[auditOutput]
		out, err = run("users", "audit", "--json")
		if err != nil {
			t.Fatal(err)
		}
		mustJSON(t, out, &audit)
		if len(audit.Items) != 1 || audit.Items[0].Action != "user.send_reset" || !strings.HasPrefix(audit.Items[0].Actor, "operator:") {
			t.Fatalf("audit after send-reset: %+v", audit.Items)
		}

		for _, c := range []struct {
			env  []string
			args []string
			want string
		}{
			{nil, []string{"users", "send-reset", "nobody"}, "no user"},
			{nil, []string{"users", "send-reset", "ann", "--json", "extra"}, "unexpected"},
			{[]string{"KURA_PUBLIC_URL="}, []string{"users", "send-reset", "ann"}, "account flows are off"},
		} {
			_, logs, err := runKura(t, append(append([]string{}, env...), c.env...), "", c.args...)
			if err == nil || !strings.Contains(err.Error()+logs, c.want) {
				t.Errorf("kura %s: %v, want an error saying %q", strings.Join(c.args, " "), err, c.want)
			}
		}
		if _, err := run("users", "disable", "ann"); err != nil {
			t.Fatal(err)
		}
		if _, err := run("users", "send-reset", "ann"); err == nil || !strings.Contains(err.Error(), "disabled") {
			t.Errorf("send-reset of a disabled account: %v", err)
		}
	})
}
