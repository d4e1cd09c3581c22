package mail

import (
	"crypto/sha256"
	"encoding/hex"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/kura-dev/kura"
)

// Limits of a Message, checked by Validate.
const (
	MaxKeyLen     = 200     // bytes of Message.Key
	MaxSubjectLen = 300     // bytes of Message.Subject
	MaxBodyLen    = 1 << 20 // bytes of each body
)

// Message is one mail to one recipient. Key names the event that causes
// it, such as "verify:42:3" (the user and the token): a Mailer sends one
// message per key, however often it is asked to, and the message's
// Message-ID is derived from it (ID), so a receiver that deduplicates by
// Message-ID sees one even when a delivery is repeated after a crash.
type Message struct {
	Key     string
	To      string // one address, "Name <addr>" or "addr"
	Subject string
	Text    string // the plain-text body, required
	HTML    string // the HTML alternative, optional
}

// Validate returns an EINVALID *kura.Error naming the first bad field.
func (m *Message) Validate() error {
	switch {
	case m.Key == "" || len(m.Key) > MaxKeyLen || !utf8.ValidString(m.Key):
		return kura.FieldError(kura.EINVALID, "key", "must be 1 to 200 bytes of UTF-8")
	case !validAddress(m.To):
		return kura.FieldError(kura.EINVALID, "to", "must be one email address")
	case m.Subject == "" || len(m.Subject) > MaxSubjectLen || strings.ContainsAny(m.Subject, "\r\n\x00"):
		return kura.FieldError(kura.EINVALID, "subject", "must be one line of 1 to 300 bytes")
	case m.Text == "" || len(m.Text) > MaxBodyLen || len(m.HTML) > MaxBodyLen:
		return kura.FieldError(kura.EINVALID, "text", "must be 1 byte to 1 MiB, and the HTML at most 1 MiB")
	case !utf8.ValidString(m.Subject + m.Text + m.HTML):
		return kura.FieldError(kura.EINVALID, "text", "must be UTF-8")
	}
	return nil
}

// validAddress reports whether s is one address without line breaks.
func validAddress(s string) bool {
	if s == "" || strings.ContainsAny(s, "\r\n\x00") {
		return false
	}
	_, err := mail.ParseAddress(s)
	return err == nil
}

// ID returns the message's Message-ID (without angle brackets): a hash of
// its key at the sender's domain. The same key gives the same id.
func (m *Message) ID(from string) string {
	sum := sha256.Sum256([]byte(m.Key))
	return hex.EncodeToString(sum[:16]) + "@" + domainOf(from)
}

// domainOf returns the domain of the address from, or "localhost".
func domainOf(from string) string {
	if a, err := mail.ParseAddress(from); err == nil {
		if _, d, ok := strings.Cut(a.Address, "@"); ok && d != "" {
			return d
		}
	}
	return "localhost"
}
