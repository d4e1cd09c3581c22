package mail_test

import (
	"strings"
	"testing"

	"github.com/kura-dev/kura/mail"
)

func TestNewSMTP_TLSRule(t *testing.T) {
	for _, c := range []struct {
		url       string
		encrypted bool
		refused   string // a part of the error, or "" for accepted
	}{
		{"smtp://mail.example.com", true, ""},
		{"smtp://u:p@mail.example.com:587?tls=starttls", true, ""},
		{"smtps://mail.example.com", true, ""},
		{"smtp://127.0.0.1:2525", false, ""},
		{"smtp://localhost:25", false, ""},
		{"smtp://[::1]:25?tls=starttls", true, ""},
		{"smtp://mail.example.com?tls=none", false, "not a loopback address"},
		{"smtp://localhost.:25?tls=none", false, "not a loopback address"},
		{"smtp://127.0.0.1.nip.io?tls=none", false, "not a loopback address"},
		{"smtps://mail.example.com?tls=starttls", false, "drop the tls parameter"},
		{"smtp://mail.example.com?tls=maybe", false, "not starttls or none"},
		{"smtp://mail.example.com?ssl=1", false, "unknown parameter"},
		{"http://mail.example.com", false, "not smtp or smtps"},
		{"smtp://", false, "names no host"},
		{"smtp://mail.example.com:99999", false, "port"},
	} {
		s, err := mail.NewSMTP(mail.SMTPConfig{URL: c.url})
		switch {
		case c.refused == "" && err != nil:
			t.Errorf("%s: %v", c.url, err)
		case c.refused != "" && (err == nil || !strings.Contains(err.Error(), c.refused)):
			t.Errorf("%s: error %v, want one saying %q", c.url, err, c.refused)
		case err == nil && s.Encrypted() != c.encrypted:
			t.Errorf("%s: encrypted %v, want %v", c.url, s.Encrypted(), c.encrypted)
		}
	}
}

func TestNewSMTP_NeverShowsThePassword(t *testing.T) {
	const secret = "s3cr3t-pw"
	for _, u := range []string{
		"smtp://user:" + secret + "@mail.example.com?tls=none",
		"smtp://user:" + secret + "@mail.example.com?tls=bad",
		"smtp://user:" + secret + "@x@mail.example.com",
		"ftp://user:" + secret + "@mail.example.com",
	} {
		_, err := mail.NewSMTP(mail.SMTPConfig{URL: u})
		if err == nil {
			t.Fatalf("%s accepted", u)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the error shows the password: %v", err)
		}
	}
	s, err := mail.NewSMTP(mail.SMTPConfig{URL: "smtp://user:" + secret + "@mail.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s.String(), secret) || !strings.Contains(s.String(), "STARTTLS required") {
		t.Errorf("String: %s", s)
	}
}

func TestMessage_Validate(t *testing.T) {
	ok := mail.Message{Key: "k", To: "ann@example.com", Subject: "s", Text: "t"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, m := range map[string]mail.Message{
		"no key":          {To: "a@example.com", Subject: "s", Text: "t"},
		"two recipients":  {Key: "k", To: "a@example.com, b@example.com", Subject: "s", Text: "t"},
		"header injected": {Key: "k", To: "a@example.com", Subject: "s\r\nBcc: x@example.com", Text: "t"},
		"no text":         {Key: "k", To: "a@example.com", Subject: "s"},
	} {
		if err := m.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	a, b := ok, ok
	b.Text = "other"
	if a.ID("Kura <no-reply@example.com>") != b.ID("no-reply@example.com") || !strings.HasSuffix(a.ID("no-reply@example.com"), "@example.com") {
		t.Errorf("the Message-ID depends on more than the key and domain: %s %s", a.ID("x@example.com"), b.ID("x@example.com"))
	}
}
