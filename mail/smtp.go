package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/kura-dev/kura/internal/credurl"
)

// DefaultSMTPTimeout bounds one delivery to an SMTP server: the dial,
// the TLS handshake and the conversation.
const DefaultSMTPTimeout = 30 * time.Second

// SMTPConfig configures the SMTP transport.
type SMTPConfig struct {
	// URL names the server (KURA_SMTP_URL):
	//
	//	smtp://[user[:password]@]host[:port][?tls=starttls|none]
	//	smtps://[user[:password]@]host[:port]
	//
	// smtp:// talks to port 587 by default and, off loopback, requires
	// STARTTLS: a server that does not offer it, or whose certificate
	// does not verify, gets nothing, credentials included. On a loopback
	// address or "localhost" it sends in clear unless tls=starttls.
	// smtps:// is TLS from the first byte (port 465 by default). A
	// password with @ / % # ? is percent-escaped (see internal/credurl).
	URL string

	// Timeout bounds one delivery. Zero means DefaultSMTPTimeout.
	Timeout time.Duration

	// TLS, if set, is the TLS configuration (its ServerName is filled in
	// from the URL when empty); tests give the certificate authority of a
	// test server here. Nil verifies against the system's roots.
	TLS *tls.Config

	// HELO is the name kura greets the server with. Empty means
	// "localhost", as go-mail does.
	HELO string
}

// SMTP is the transport that delivers through an SMTP server with
// github.com/wneessen/go-mail. It dials once per message.
type SMTP struct {
	host     string
	port     int
	implicit bool // smtps://
	starttls bool // STARTTLS required
	user     string
	password string
	cfg      SMTPConfig
}

// NewSMTP checks cfg and returns its transport. It connects to nothing:
// a server that is down delays the messages, which are retried, and does
// not stop a start. Its errors never hold the password.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultSMTPTimeout
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("mail: the SMTP timeout must be positive")
	}
	if err := credurl.Check(cfg.URL); err != nil {
		return nil, fmt.Errorf("KURA_SMTP_URL: %w", err)
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("KURA_SMTP_URL %s is not a URL", credurl.Redact(cfg.URL))
	}
	s := &SMTP{host: u.Hostname(), cfg: cfg}
	if err := s.parse(u); err != nil {
		return nil, fmt.Errorf("KURA_SMTP_URL %s: %w", credurl.Redact(cfg.URL), err)
	}
	return s, nil
}

func (s *SMTP) parse(u *url.URL) error {
	if s.host == "" {
		return errors.New("names no host: write smtp://host:587 or smtps://host:465")
	}
	if u.Path != "" && u.Path != "/" {
		return errors.New("has a path: an SMTP URL is smtp://[user:password@]host[:port]")
	}
	q := u.Query()
	for k := range q {
		if k != "tls" {
			return fmt.Errorf("has the unknown parameter %q: the only one is tls=starttls|none", k)
		}
	}
	mode := q.Get("tls")
	switch u.Scheme {
	case "smtps":
		s.implicit, s.port = true, gomail.DefaultPortSSL
		if mode != "" {
			return errors.New("smtps:// is TLS from the start: drop the tls parameter")
		}
	case "smtp":
		s.port = gomail.DefaultPortTLS
		switch {
		case mode == "starttls", mode == "" && !Loopback(s.host):
			s.starttls = true
		case mode == "none" && !Loopback(s.host):
			return fmt.Errorf("tls=none is refused for %s, which is not a loopback address: mail and the SMTP password would cross the network in clear; use STARTTLS (smtp://, port 587) or smtps:// (port 465)", s.host)
		case mode != "none" && mode != "":
			return fmt.Errorf("tls=%q is not starttls or none", mode)
		}
	default:
		return fmt.Errorf("the scheme %q is not smtp or smtps", u.Scheme)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("the port %q is not a number from 1 to 65535", p)
		}
		s.port = n
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.password, _ = u.User.Password()
	}
	return nil
}

// Loopback reports whether host is reached without leaving the machine and
// without DNS: "localhost" exactly or a literal loopback address, the rule
// kura's database connections follow (sqldb). Any other host needs TLS.
func Loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	return ip != nil && ip.IsLoopback()
}

// Encrypted reports whether messages travel under TLS (STARTTLS or smtps).
func (s *SMTP) Encrypted() bool { return s.implicit || s.starttls }

// String describes the server without its credentials, for the log.
func (s *SMTP) String() string {
	mode := "in clear (loopback)"
	switch {
	case s.implicit:
		mode = "TLS"
	case s.starttls:
		mode = "STARTTLS required"
	}
	return net.JoinHostPort(s.host, strconv.Itoa(s.port)) + ", " + mode
}

// Send delivers m. A 5xx answer of the server is a *PermanentError.
func (s *SMTP) Send(ctx context.Context, m *Outgoing) error {
	msg, err := s.message(m)
	if err != nil {
		return &PermanentError{Err: err}
	}
	c, err := gomail.NewClient(s.host, s.options()...)
	if err != nil {
		return s.scrub(err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	err = c.DialAndSendWithContext(ctx, msg)
	var se *gomail.SendError
	if errors.As(err, &se) && !se.IsTemp() && se.ErrorCode() >= 500 {
		return &PermanentError{Err: s.scrub(err)}
	}
	return s.scrub(err)
}

func (s *SMTP) options() []gomail.Option {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.cfg.TLS != nil {
		tc = s.cfg.TLS.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = s.host
	}
	opts := []gomail.Option{gomail.WithPort(s.port), gomail.WithTimeout(s.cfg.Timeout), gomail.WithTLSConfig(tc)}
	switch {
	case s.implicit:
		opts = append(opts, gomail.WithSSL())
	case s.starttls:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.cfg.HELO != "" {
		opts = append(opts, gomail.WithHELO(s.cfg.HELO))
	}
	if s.user != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.user), gomail.WithPassword(s.password))
	}
	return opts
}

// message builds go-mail's message of m.
func (s *SMTP) message(m *Outgoing) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.From(m.From); err != nil {
		return nil, fmt.Errorf("the sender %q: %w", m.From, err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("the recipient: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(m.ID)
	msg.SetDateWithValue(m.Date)
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// scrub removes the password from an error's text, should the library or
// the server ever echo it.
func (s *SMTP) scrub(err error) error {
	if err == nil || s.password == "" || !strings.Contains(err.Error(), s.password) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), s.password, credurl.Mask))
}
