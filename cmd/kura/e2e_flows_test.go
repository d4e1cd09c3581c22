package main

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/internal/testenv"
)

// mailLink is the link of a flow's mail, under KURA_PUBLIC_URL.
var mailLink = regexp.MustCompile(`http://localhost:5173/[a-z-]+\?token=[A-Za-z0-9_%-]+`)

// waitMail waits until srv has delivered a message to addr whose subject
// contains subject, and returns the last such.
func waitMail(t *testing.T, srv *testenv.SMTPServer, addr, subject string) *testenv.Mail {
	t.Helper()
	var got *testenv.Mail
	testenv.Wait(t, 0, "mail to "+addr+": "+subject, func() bool {
		for _, m := range srv.Messages() {
			if strings.Contains(m.To, addr) && strings.Contains(m.Subject, subject) {
				got = m
			}
		}
		return got != nil
	})
	return got
}

// followLink returns the path and token of the one link of m, read from
// its plain-text body, and checks the HTML alternative has the same link.
func followLink(t *testing.T, m *testenv.Mail) (path, token string) {
	t.Helper()
	links := mailLink.FindAllString(m.Text, -1)
	if len(links) != 1 {
		t.Fatalf("%d links in %q", len(links), m.Text)
	}
	if m.HTML != "" && !strings.Contains(m.HTML, links[0]) {
		t.Errorf("the HTML body lacks the link %s", links[0])
	}
	u, err := url.Parse(links[0])
	if err != nil {
		t.Fatal(err)
	}
	return u.Path, u.Query().Get("token")
}

// TestEndToEnd_AccountFlowsByMail registers, verifies, resets a password
// and changes an email on a real server, on each engine, with the mail
// delivered by a real SMTP server (Postfix) and every link read from the
// delivered message and followed through the API.
func TestEndToEnd_AccountFlowsByMail(t *testing.T) {
	forEachEngine(t, func(t *testing.T, dbURL string) {
		srv := testenv.SMTP(t, testenv.SMTPOptions{})
		s := startKura(t, "DATABASE_URL="+dbURL, "KURA_SMTP_URL="+srv.URL(""), "KURA_MAIL_FROM=Kura <no-reply@kura.test>",
			"KURA_PUBLIC_URL=http://localhost:5173", "KURA_REQUIRE_VERIFIED_EMAIL=true")
		const pw = "correct horse battery"

		// Registration sends the verification link; until it is followed
		// the account cannot log in.
		ann := register(t, s, "Ann@Example.com", "ann")
		if v, ok := ann.Body["email_verified_at"]; !ok || v != nil {
			t.Errorf("a new account's email_verified_at = %v (present %v), want null", v, ok)
		}
		s.do(t, "POST", "/api/auth/login", "", map[string]string{"login": "ann", "password": pw}).want(t, http.StatusForbidden)
		path, token := followLink(t, waitMail(t, srv, "ann@example.com", "Confirm your email address"))
		if path != "/verify-email" {
			t.Errorf("verification link path %s", path)
		}
		s.do(t, "POST", "/api/auth/verify-email", "", map[string]string{"token": token}).want(t, http.StatusNoContent)
		invalid := s.do(t, "POST", "/api/auth/verify-email", "", map[string]string{"token": token}).want(t, http.StatusBadRequest)
		if invalid.errorField("message") != kura.InvalidLinkMessage {
			t.Errorf("a used link: %s", invalid.Raw)
		}
		for _, bad := range []string{"", "x", strings.Repeat("A", 43)} {
			r := s.do(t, "POST", "/api/auth/verify-email", "", map[string]string{"token": bad}).want(t, http.StatusBadRequest)
			if r.Raw != invalid.Raw {
				t.Errorf("token %q: %s, want the one answer %s", bad, r.Raw, invalid.Raw)
			}
		}
		tok := login(t, s, "ann", pw)
		if me := s.do(t, "GET", "/api/users/me", tok, nil).want(t, http.StatusOK); me.Body["email_verified_at"] == nil {
			t.Errorf("verified account: %s", me.Raw)
		}

		// Password reset: one answer whether or not the account exists.
		known := s.do(t, "POST", "/api/auth/password-reset", "", map[string]string{"email": "ANN@example.com"}).want(t, http.StatusAccepted)
		unknown := s.do(t, "POST", "/api/auth/password-reset", "", map[string]string{"email": "nobody@example.com"}).want(t, http.StatusAccepted)
		if known.Raw != unknown.Raw {
			t.Errorf("known %s, unknown %s", known.Raw, unknown.Raw)
		}
		path, token = followLink(t, waitMail(t, srv, "ann@example.com", "Reset your password"))
		if path != "/reset-password" {
			t.Errorf("reset link path %s", path)
		}
		r := s.do(t, "POST", "/api/auth/password-reset/confirm", "", map[string]string{"token": token, "password": "short"}).want(t, http.StatusUnprocessableEntity)
		if r.fieldMessage("password") == "" {
			t.Errorf("short password: %s", r.Raw)
		}
		s.do(t, "POST", "/api/auth/password-reset/confirm", "", map[string]string{"token": token, "password": "a new passphrase"}).want(t, http.StatusNoContent)
		s.do(t, "GET", "/api/users/me", tok, nil).want(t, http.StatusUnauthorized) // every session ended
		if r := s.do(t, "POST", "/api/auth/password-reset/confirm", "", map[string]string{"token": token, "password": "another passphrase"}).want(t, http.StatusBadRequest); r.Raw != invalid.Raw {
			t.Errorf("a used reset link: %s", r.Raw)
		}
		s.do(t, "POST", "/api/auth/login", "", map[string]string{"login": "ann", "password": pw}).want(t, http.StatusUnauthorized)
		tok = login(t, s, "ann", "a new passphrase")
		if m := waitMail(t, srv, "ann@example.com", "password on kura was changed"); mailLink.MatchString(m.Text) {
			t.Errorf("password_changed holds a link: %q", m.Text)
		}

		// The requests for a link are limited per address asked about.
		for i := range 4 {
			want := http.StatusAccepted
			if i == 3 {
				want = http.StatusTooManyRequests
			}
			s.do(t, "POST", "/api/auth/password-reset", "", map[string]string{"email": "limited@example.com"}).want(t, want)
		}

		// Email change: confirmed from the new address, the old one told.
		id := fmt.Sprint(ann.id())
		r = s.do(t, "PATCH", "/api/users/"+id, tok, map[string]string{"email": "ann.new@example.com", "current_password": "a new passphrase"}).want(t, http.StatusAccepted)
		if r.Body["email"] != "ann@example.com" {
			t.Errorf("the email changed before its link: %s", r.Raw)
		}
		path, token = followLink(t, waitMail(t, srv, "ann.new@example.com", "Confirm your new email"))
		if path != "/confirm-email" {
			t.Errorf("email change link path %s", path)
		}
		s.do(t, "POST", "/api/auth/email-change/confirm", "", map[string]string{"token": token}).want(t, http.StatusNoContent)
		if me := s.do(t, "GET", "/api/users/me", tok, nil).want(t, http.StatusOK); me.Body["email"] != "ann.new@example.com" || me.Body["email_verified_at"] == nil {
			t.Errorf("after the change: %s", me.Raw)
		}
		if m := waitMail(t, srv, "ann@example.com", "email address of your account"); !strings.Contains(m.Text, "ann.new@example.com") {
			t.Errorf("email_changed: %q", m.Text)
		}

		// Each event's mail was sent once, and none to the unknown address.
		testenv.Wait(t, 0, "five messages", func() bool { return len(srv.Messages()) >= 5 })
		for _, m := range srv.Messages() {
			if strings.Contains(m.To, "nobody@") || strings.Contains(m.To, "limited@") {
				t.Errorf("mail to an address without an account: %s", m.To)
			}
		}
		if n := len(srv.Messages()); n != 5 {
			t.Errorf("%d messages delivered, want 5 (verify, reset, password changed, email change, email changed)", n)
		}
	})
}

// TestServe_FlowSettingsRefusedAtStart: a links' base in clear off
// loopback, flows without mail and a required verification without flows
// stop serve before it serves, naming the variable.
func TestServe_FlowSettingsRefusedAtStart(t *testing.T) {
	db := "DATABASE_URL=sqlite:" + t.TempDir() + "/kura.db"
	mailOn := []string{"KURA_MAIL_TRANSPORT=log", "KURA_MAIL_FROM=no-reply@example.com"}
	for name, c := range map[string]struct {
		env  []string
		want string
	}{
		"http off loopback":      {append([]string{"KURA_PUBLIC_URL=http://app.example.com"}, mailOn...), "KURA_PUBLIC_URL"},
		"not a URL":              {append([]string{"KURA_PUBLIC_URL=app.example.com"}, mailOn...), "KURA_PUBLIC_URL"},
		"a query":                {append([]string{"KURA_PUBLIC_URL=https://app.example.com/?a=b"}, mailOn...), "KURA_PUBLIC_URL"},
		"no mail":                {[]string{"KURA_PUBLIC_URL=https://app.example.com"}, "KURA_PUBLIC_URL"},
		"verification, no flows": {append([]string{"KURA_REQUIRE_VERIFIED_EMAIL=true"}, mailOn...), "KURA_REQUIRE_VERIFIED_EMAIL"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := runKura(t, append([]string{db, noMetricsListener, noBackups}, c.env...), "", "serve")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("serve: %v, want an error naming %s", err, c.want)
			}
		})
	}
}
