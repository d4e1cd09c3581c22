package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"path"
	"slices"
	"strings"
	texttemplate "text/template"
)

// defaultFS holds kura's own messages (see Templates).
//
//go:embed templates
var defaultFS embed.FS

// Templates are the messages a Mailer renders, by name. A name has a
// plain-text template, NAME.txt (text/template), which defines the subject
// as a template of its own:
//
//	{{define "subject"}}Confirm your email address{{end}}
//	Hello {{.Name}}, open this link to confirm your address: {{.Link}}
//
// and may have an HTML alternative, NAME.html (html/template, which
// escapes what it inserts). A missing key or field is an error when the
// message is rendered, not an empty string.
type Templates struct {
	text map[string]*texttemplate.Template
	html map[string]*htmltemplate.Template
}

// LoadTemplates returns kura's own templates (the templates folder of
// this package: verify_email, password_reset, password_changed,
// email_change and email_changed) replaced or completed by those of
// overlay, which may be nil: a NAME.txt of overlay replaces kura's NAME
// (its NAME.html too, which is then dropped unless overlay has one), and
// a new name adds a message. Files of overlay other than *.txt and *.html
// are ignored; subfolders are not read. It refuses a template that does
// not parse, a NAME.txt without a subject and a NAME.html without its
// NAME.txt, naming the file: an application checks its templates at
// start, not at the first mail.
func LoadTemplates(overlay fs.FS) (*Templates, error) {
	sub, err := fs.Sub(defaultFS, "templates")
	if err != nil {
		return nil, err
	}
	files, err := readTemplates(sub, "kura's templates")
	if err != nil {
		return nil, err
	}
	if overlay != nil {
		own, err := readTemplates(overlay, "the templates folder")
		if err != nil {
			return nil, err
		}
		for name, f := range own {
			files[name] = f
		}
	}
	return parseTemplates(files)
}

// templateFiles are the sources of one name.
type templateFiles struct {
	where      string // for errors: "kura's templates" or the overlay
	text, html string
	hasHTML    bool
}

func readTemplates(fsys fs.FS, where string) (map[string]*templateFiles, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("mail templates: read %s: %w", where, err)
	}
	out := map[string]*templateFiles{}
	htmlOnly := map[string]string{}
	for _, e := range entries {
		ext := path.Ext(e.Name())
		if e.IsDir() || (ext != ".txt" && ext != ".html") {
			continue
		}
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("mail templates: read %s in %s: %w", e.Name(), where, err)
		}
		name := strings.TrimSuffix(e.Name(), ext)
		f := out[name]
		if f == nil {
			f = &templateFiles{where: where}
			out[name] = f
		}
		if ext == ".txt" {
			f.text = string(b)
			delete(htmlOnly, name)
		} else {
			f.html, f.hasHTML = string(b), true
			if f.text == "" {
				htmlOnly[name] = e.Name()
			}
		}
	}
	for name, file := range htmlOnly {
		if out[name].text == "" {
			return nil, fmt.Errorf("mail templates: %s in %s has no %s.txt: every message needs its plain-text template", file, where, name)
		}
	}
	return out, nil
}

func parseTemplates(files map[string]*templateFiles) (*Templates, error) {
	t := &Templates{text: map[string]*texttemplate.Template{}, html: map[string]*htmltemplate.Template{}}
	for name, f := range files {
		tt, err := texttemplate.New(name + ".txt").Option("missingkey=error").Parse(f.text)
		if err != nil {
			return nil, fmt.Errorf("mail templates: %s: %w", f.where, err)
		}
		if tt.Lookup("subject") == nil {
			return nil, fmt.Errorf(`mail templates: %s.txt in %s defines no subject: add {{define "subject"}}…{{end}}`, name, f.where)
		}
		t.text[name] = tt
		if f.hasHTML {
			ht, err := htmltemplate.New(name + ".html").Option("missingkey=error").Parse(f.html)
			if err != nil {
				return nil, fmt.Errorf("mail templates: %s: %w", f.where, err)
			}
			t.html[name] = ht
		}
	}
	return t, nil
}

// Names returns the names of the messages, sorted.
func (t *Templates) Names() []string {
	names := make([]string, 0, len(t.text))
	for n := range t.text {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Message renders the message name with data for to, under key (see
// Message). An unknown name or a template that fails on data is an error
// naming the template.
func (t *Templates) Message(name, key, to string, data any) (*Message, error) {
	tt := t.text[name]
	if tt == nil {
		return nil, fmt.Errorf("mail templates: no message named %q (there are %s)", name, strings.Join(t.Names(), ", "))
	}
	var subject, text, html bytes.Buffer
	if err := tt.ExecuteTemplate(&subject, "subject", data); err != nil {
		return nil, fmt.Errorf("mail templates: %w", err)
	}
	if err := tt.Execute(&text, data); err != nil {
		return nil, fmt.Errorf("mail templates: %w", err)
	}
	if ht := t.html[name]; ht != nil {
		if err := ht.Execute(&html, data); err != nil {
			return nil, fmt.Errorf("mail templates: %w", err)
		}
	}
	m := &Message{
		Key:     key,
		To:      to,
		Subject: strings.Join(strings.Fields(subject.String()), " "),
		Text:    strings.TrimLeft(text.String(), "\n"),
		HTML:    html.String(),
	}
	return m, m.Validate()
}

// Data is what kura's own templates read.
type Data struct {
	App   string // the application's name
	Name  string // the recipient's user name
	Email string // the address concerned: the new one for email_change and email_changed
	Link  string // the link to follow, with its token
	Valid string // how long the link works, such as "1 hour"
}
