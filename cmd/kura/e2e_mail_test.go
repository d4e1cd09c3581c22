package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServe_MailSettingsRefusedAtStart: an SMTP URL that would send in
// clear to a remote host, a missing sender and a template that does not
// parse stop serve before it serves, naming the variable or the file and
// never the password.
func TestServe_MailSettingsRefusedAtStart(t *testing.T) {
	const secret = "smtp-s3cret"
	dir := t.TempDir()
	broken := filepath.Join(dir, "templates")
	if err := os.Mkdir(broken, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(broken, "verify_email.txt"), []byte(`{{define "subject"}}x{{end}}{{.Link`), 0o644); err != nil {
		t.Fatal(err)
	}
	db := "DATABASE_URL=sqlite:" + filepath.Join(dir, "kura.db")
	for name, c := range map[string]struct {
		env  []string
		want string
	}{
		"clear to a remote host": {[]string{"KURA_SMTP_URL=smtp://kura:" + secret + "@mail.example.com?tls=none", "KURA_MAIL_FROM=no-reply@example.com"}, "KURA_SMTP_URL"},
		"no sender":              {[]string{"KURA_SMTP_URL=smtp://kura:" + secret + "@mail.example.com"}, "KURA_MAIL_FROM"},
		"unknown transport":      {[]string{"KURA_MAIL_TRANSPORT=pigeon", "KURA_MAIL_FROM=no-reply@example.com"}, "KURA_MAIL_TRANSPORT"},
		"broken template":        {[]string{"KURA_MAIL_TRANSPORT=log", "KURA_MAIL_FROM=no-reply@example.com", "KURA_MAIL_TEMPLATES=" + broken}, "verify_email.txt"},
	} {
		t.Run(name, func(t *testing.T) {
			_, logs, err := runKura(t, append([]string{db, noMetricsListener, noBackups}, c.env...), "", "serve")
			if err == nil {
				t.Fatal("serve started")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("the error does not name %s: %v", c.want, err)
			}
			if strings.Contains(err.Error()+logs, secret) {
				t.Errorf("the password was shown:\n%v\n%s", err, logs)
			}
		})
	}
}

// TestServe_MailHealthNote: /health says mail is off without mail, and ok
// with it.
func TestServe_MailHealthNote(t *testing.T) {
	dir := t.TempDir()
	for env, want := range map[string]string{"KURA_MAIL_TRANSPORT=": "off", "KURA_MAIL_TRANSPORT=log": "ok"} {
		s := startKura(t, "DATABASE_URL=sqlite:"+filepath.Join(dir, strings.TrimPrefix(env, "KURA_MAIL_TRANSPORT=")+"kura.db"), env, "KURA_MAIL_FROM=Kura <no-reply@kura.test>")
		r := s.do(t, "GET", "/health", "", nil).want(t, http.StatusOK)
		if r.Body["mail"] != want {
			t.Errorf("%s: /health mail = %v, want %s", env, r.Body["mail"], want)
		}
	}
}
