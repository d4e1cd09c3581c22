package mail_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/kura-dev/kura/mail"
)

var data = mail.Data{App: "kura", Name: "ann", Email: "ann@example.com", Link: "https://example.com/verify?token=a&b=<c>", Valid: "24 hours"}

func TestTemplates_DefaultsRender(t *testing.T) {
	ts, err := mail.LoadTemplates(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"email_change", "email_changed", "password_changed", "password_reset", "verify_email"}
	if got := strings.Join(ts.Names(), " "); got != strings.Join(want, " ") {
		t.Fatalf("names %q, want %q", got, want)
	}
	for _, name := range want {
		m, err := ts.Message(name, "k:"+name, "ann@example.com", data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !strings.Contains(m.Subject, "kura") || strings.Contains(m.Subject, "\n") {
			t.Errorf("%s: subject %q", name, m.Subject)
		}
		if strings.HasSuffix(name, "_changed") {
			continue
		}
		if !strings.Contains(m.Text, data.Link) {
			t.Errorf("%s: the text lacks the link as written:\n%s", name, m.Text)
		}
		if !strings.Contains(m.HTML, `href="https://example.com/verify?token=a&amp;b=%3cc%3e"`) {
			t.Errorf("%s: the HTML link is not escaped:\n%s", name, m.HTML)
		}
	}
}

func TestTemplates_OverlayReplacesAndAdds(t *testing.T) {
	ts, err := mail.LoadTemplates(fstest.MapFS{
		"verify_email.txt": {Data: []byte(`{{define "subject"}}Welcome to {{.App}}{{end}}Click {{.Link}}`)},
		"share.txt":        {Data: []byte(`{{define "subject"}}{{.Who}} shared a note{{end}}{{.Who}} shared "{{.Title}}"`)},
		"share.html":       {Data: []byte(`<b>{{.Who}}</b>`)},
		"README.md":        {Data: []byte("ignored")},
	})
	if err != nil {
		t.Fatal(err)
	}
	m, err := ts.Message("verify_email", "k", "ann@example.com", data)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Welcome to kura" || m.HTML != "" {
		t.Errorf("the overlay did not replace both parts: %+v", m)
	}
	m, err = ts.Message("share", "k2", "bob@example.com", map[string]string{"Who": "<ann>", "Title": "t"})
	if err != nil {
		t.Fatal(err)
	}
	if m.HTML != "<b>&lt;ann&gt;</b>" || m.Subject != "<ann> shared a note" {
		t.Errorf("share: %+v", m)
	}
	if _, err := ts.Message("share", "k3", "bob@example.com", map[string]string{"Who": "x"}); err == nil {
		t.Error("a missing key rendered")
	}
	if _, err := ts.Message("nope", "k4", "bob@example.com", nil); err == nil || !strings.Contains(err.Error(), "verify_email") {
		t.Errorf("unknown name: %v", err)
	}
}

func TestTemplates_RefusedAtLoad(t *testing.T) {
	for name, files := range map[string]fstest.MapFS{
		"does not parse":  {"verify_email.txt": {Data: []byte(`{{define "subject"}}x{{end}}{{.Link`)}},
		"no subject":      {"verify_email.txt": {Data: []byte(`hello {{.Link}}`)}},
		"html only":       {"share.html": {Data: []byte(`<p>hi</p>`)}},
		"html not parsed": {"share.txt": {Data: []byte(`{{define "subject"}}x{{end}}y`)}, "share.html": {Data: []byte(`{{if}}`)}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := mail.LoadTemplates(files)
			if err == nil {
				t.Fatal("loaded")
			}
			for f := range files {
				if strings.Contains(err.Error(), f) || strings.Contains(err.Error(), strings.TrimSuffix(f, ".html")) {
					return
				}
			}
			t.Errorf("the error names no file: %v", err)
		})
	}
}
