package app

import (
	"fmt"
	"net"

	"github.com/kura-dev/kura/httpapi"
	"github.com/kura-dev/kura/ratelimit"
)

// Development mode (KURA_DEV=true, kura serve --dev) is for a developer
// building a frontend against kura on their own machine:
//
//   - CORS is open to every http origin of this machine, any port
//     (http://localhost:5173, http://127.0.0.1:3000): httpapi.Config's
//     CORSLoopback;
//   - the development-only limits are relaxed: registrations, and other
//     writes without a verified token, are not limited per address
//     (KURA_REGISTER_RATE, unless set to another value than its default);
//   - what the app would mail is printed to the log instead of sent
//     (mailTransport: KURA_MAIL_TRANSPORT=log), unless
//     KURA_MAIL_TRANSPORT or KURA_SMTP_URL chose a transport.
//
// It is refused unless KURA_ADDR is a loopback address, and serve warns
// of it in its log and its banner.

// validateDev refuses development mode off loopback.
func (c *Config) validateDev() []fieldError {
	if !c.Dev {
		return nil
	}
	host, _, err := net.SplitHostPort(c.Addr)
	if err == nil && IsLoopback(host) {
		return nil
	}
	return []fieldError{{"KURA_DEV", fmt.Sprintf("development mode opens CORS to localhost origins and turns the registration limit off: it serves on loopback only, and KURA_ADDR is %q: "+
		"set KURA_ADDR=127.0.0.1:8080, or KURA_DEV=false to serve this address", c.Addr)}}
}

// devRateLimits relaxes the development-only limits of l in development
// mode: the registration limit, unless KURA_REGISTER_RATE chose one.
func (c *Config) devRateLimits(l httpapi.RateLimits) httpapi.RateLimits {
	if c.Dev && (l.AnonWrite == httpapi.DefaultAnonWriteLimit || l.AnonWrite == ratelimit.Limit{}) {
		l.AnonWrite = ratelimit.NoLimit
	}
	return l
}

// devMailFrom is the sender of the mail development mode prints, when
// KURA_MAIL_FROM names none.
const devMailFrom = "kura (development) <no-reply@example.com>"

// mailFrom returns KURA_MAIL_FROM, or in development mode, for the mail it
// prints, devMailFrom when it is empty.
func (c *Config) mailFrom() string {
	if c.MailFrom == "" && c.Dev && c.MailTransport == "" && c.SMTPURL == "" {
		return devMailFrom
	}
	return c.MailFrom
}
