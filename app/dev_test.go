package app

import "testing"

// TestConfig_DevMail: development mode prints mail to the log unless a
// transport was chosen.
func TestConfig_DevMail(t *testing.T) {
	for _, tc := range []struct {
		c    Config
		want string
	}{
		{Config{Dev: true}, mailLog},
		{Config{}, ""},
		{Config{Dev: true, SMTPURL: "smtp://127.0.0.1:25"}, mailSMTP},
		{Config{Dev: true, MailTransport: mailSMTP}, mailSMTP},
	} {
		if got := tc.c.mailTransport(); got != tc.want {
			t.Errorf("%+v: transport %q, want %q", tc.c, got, tc.want)
		}
	}
}
