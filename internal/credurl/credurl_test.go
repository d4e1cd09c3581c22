package credurl_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/kura-dev/kura/internal/credurl"
)

func TestCheck(t *testing.T) {
	for _, tt := range []struct {
		url  string
		want bool // refused
	}{
		{"postgres://kura:s3cret@127.0.0.1:5432/kura", false},
		{"postgres://kura:p%40ss%2Fw%25rd%23x%3F%3A@127.0.0.1:5432/kura", false},
		{"postgres://kura:a:b:c@db/kura", false}, // ':' in a password is read as written
		{"postgres://kura:!$&'()*+,;=-._~@db/kura", false},
		{"postgres://kura@db/kura", false},
		{"postgres://db/kura?sslmode=require", false},
		{"postgres://kura:pw@/kura?host=/run/postgresql", false},
		{"postgres://kura:pw@h1:5432,h2:5433/kura", false},
		{"mysql://root@127.0.0.1:3306/test?tls=true", false},
		{"redis://:secret@127.0.0.1:6379/0", false},
		{"unix:///run/redis/redis@main.sock", false}, // no authority
		{"sqlite:///var/lib/kura@1/kura.db", false},
		{"./data/kura.db", false},
		{"", false},
		{"postgres://kura:p@ss/w%rd#x@127.0.0.1:5432/test", true},
		{"postgres://kura:p@ss@127.0.0.1:5432/test", true},
		{"postgres://kura:p/ss@127.0.0.1:5432/test", true},
		{"postgres://kura:p%zz@127.0.0.1:5432/test", true},
		{"postgres://kura:p%4@127.0.0.1:5432/test", true},
		{"postgres://kura:p%@127.0.0.1:5432/test", true},
		{"postgres://kura:p#ss@127.0.0.1:5432/test", true},
		{"postgres://kura:p?ss@127.0.0.1:5432/test", true},
		{"postgres://kura:p ss@127.0.0.1:5432/test", true},
		{"postgres://kura:pässword@127.0.0.1:5432/test", true},
		{"mysql://kura:p/ss@127.0.0.1:3306/test", true},
		{"redis://:p#ss@127.0.0.1:6379/0", true},
		{"http://user:p?w@127.0.0.1:8080", true},
		{"postgres://db/kura?application_name=a@b", true}, // an '@' past the host: escape it
	} {
		err := credurl.Check(tt.url)
		if got := err != nil; got != tt.want {
			t.Errorf("Check(%q) = %v; want refused %v", tt.url, err, tt.want)
		}
		if err != nil && !errors.Is(err, credurl.ErrMalformed) {
			t.Errorf("Check(%q) = %v; want ErrMalformed", tt.url, err)
		}
	}
}

func TestErrMalformedSaysHowToEscape(t *testing.T) {
	for _, want := range []string{"@ as %40", "/ as %2F", "% as %25", "# as %23", "? as %3F", ": as %3A"} {
		if !strings.Contains(credurl.ErrMalformed.Error(), want) {
			t.Errorf("ErrMalformed does not say %q: %v", want, credurl.ErrMalformed)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://kura:s3cret@127.0.0.1:5432/kura":       "postgres://kura:xxxxx@127.0.0.1:5432/kura",
		"postgres://kura:p@ss/w%rd#x@127.0.0.1:5432/test":  "postgres://xxxxx@127.0.0.1:5432/test",
		"mysql://kura:Qa@Vz#7Kw@127.0.0.1:3306/test?x=1":   "mysql://xxxxx@127.0.0.1:3306/test?x=1",
		"postgres://db/kura":                               "postgres://db/kura",
		"postgres://kura@db/kura":                          "postgres://kura@db/kura",
		"postgres://kura:pw@db/kura%zz":                    "postgres://xxxxx",
		"not a url %zz":                                    "xxxxx",
		"http://user:s3cret@127.0.0.1:8080/health?x=y#top": "http://user:xxxxx@127.0.0.1:8080/health?x=y#top",
	} {
		if got := credurl.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestWithoutUserinfo(t *testing.T) {
	for in, want := range map[string]string{
		"http://alice:s3cret@127.0.0.1:8080": "http://xxxxx@127.0.0.1:8080",
		"http://alice@127.0.0.1:8080":        "http://xxxxx@127.0.0.1:8080",
		"http://127.0.0.1:8080":              "http://127.0.0.1:8080",
		"http://alice:s/ecret@127.0.0.1":     "http://xxxxx@127.0.0.1",
	} {
		if got := credurl.WithoutUserinfo(in); got != want {
			t.Errorf("WithoutUserinfo(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestSecrets(t *testing.T) {
	got := credurl.Secrets("postgres://kura:p@ss/w%rd#x@127.0.0.1:5432/test")
	want := []string{"kura:p@ss/w%rd#x", "p@ss/w%rd#x"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Secrets of a malformed URL = %q; want %q", got, want)
	}
	got = credurl.Secrets("postgres://kura:s3cr%40t@db/kura")
	want = []string{"s3cr@t", "s3cr%40t"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Secrets = %q; want %q", got, want)
	}
}

// FuzzCheck writes any password into a URL unescaped: either Check
// refuses it and Redact keeps nothing of the user information, or every
// parser's reading of it is the user information as written, with the
// host and path untouched. A password escaped by net/url always passes.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"s3cret", "p@ss/w%rd#x", "a:b", "%41", "%zz", "?x", "#", "/", "@", "é", " ", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pw string) {
		escaped := (&url.URL{Scheme: "postgres", User: url.UserPassword("kura", pw), Host: "127.0.0.1:5432", Path: "/db"}).String()
		if err := credurl.Check(escaped); err != nil {
			t.Fatalf("Check(%q) of an escaped password = %v", escaped, err)
		}
		if u, err := url.Parse(escaped); err != nil {
			t.Fatalf("parse %q: %v", escaped, err)
		} else if got, _ := u.User.Password(); got != pw {
			t.Fatalf("password of %q = %q; want %q", escaped, got, pw)
		}

		raw := "postgres://kura:" + pw + "@127.0.0.1:5432/db"
		if credurl.Check(raw) != nil {
			if got := credurl.Redact(raw); got != "postgres://xxxxx@127.0.0.1:5432/db" {
				t.Fatalf("Redact(%q) = %q", raw, got)
			}
			return
		}
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("Check passed %q, which does not parse: %v", raw, err)
		}
		want, err := url.PathUnescape(pw)
		if err != nil {
			t.Fatalf("Check passed %q, whose password does not unescape: %v", raw, err)
		}
		if got, _ := u.User.Password(); u.Host != "127.0.0.1:5432" || u.Path != "/db" || got != want {
			t.Fatalf("Check passed %q, read as host %q path %q password %q", raw, u.Host, u.Path, got)
		}
		if strings.Contains(credurl.Redact(raw), pw) && len(pw) >= 3 {
			t.Fatalf("Redact(%q) keeps the password", raw)
		}
	})
}
