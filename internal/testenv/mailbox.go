package testenv

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Mail is a message an SMTPServer delivered, with its parts decoded.
type Mail struct {
	Header  mail.Header
	Subject string // decoded
	To      string
	Text    string // the text/plain part, decoded
	HTML    string // the text/html part, decoded; "" if none
	Raw     []byte
	file    string
}

// Messages returns the messages delivered so far, oldest first.
func (s *SMTPServer) Messages() []*Mail {
	s.tb.Helper()
	dir := filepath.Join(s.dir, "maildir", "inbox", "new")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil // nothing delivered yet
	}
	type dated struct {
		at time.Time
		m  *Mail
	}
	var all []dated
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			s.tb.Fatal(err)
		}
		m, err := parseMail(raw)
		if err != nil {
			s.tb.Fatalf("delivered message %s: %v", e.Name(), err)
		}
		m.file = e.Name()
		info, _ := e.Info()
		all = append(all, dated{info.ModTime(), m})
	}
	slices.SortStableFunc(all, func(a, b dated) int { return a.at.Compare(b.at) })
	out := make([]*Mail, len(all))
	for i, d := range all {
		out[i] = d.m
	}
	return out
}

// WaitMessages waits until n messages were delivered and returns them.
func (s *SMTPServer) WaitMessages(n int) []*Mail {
	s.tb.Helper()
	var got []*Mail
	Wait(s.tb, 0, "delivered messages", func() bool {
		got = s.Messages()
		return len(got) >= n
	})
	return got
}

func parseMail(raw []byte) (*Mail, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	var dec mime.WordDecoder
	subject, _ := dec.DecodeHeader(msg.Header.Get("Subject"))
	m := &Mail{Header: msg.Header, Subject: subject, To: msg.Header.Get("To"), Raw: raw}
	return m, m.readPart(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
}

func (m *Mail) readPart(contentType, encoding string, body io.Reader) error {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = "text/plain"
	}
	if strings.HasPrefix(mt, "multipart/") {
		r := multipart.NewReader(body, params["boundary"])
		for {
			p, err := r.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := m.readPart(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	switch mt {
	case "text/plain":
		m.Text = text
	case "text/html":
		m.HTML = text
	}
	return nil
}
