package accounts_test

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/internal/dbtest"
	"github.com/kura-dev/kura/internal/testenv"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/mail"
	"github.com/kura-dev/kura/sqldb"
)

// outbox is a mail.Transport that keeps what it is given: the flows' tests
// read their links from it (the end-to-end tests in cmd/kura read them
// from a real SMTP server's maildir).
type outbox struct {
	mu   sync.Mutex
	sent []*mail.Outgoing
}

func (o *outbox) Send(_ context.Context, m *mail.Outgoing) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := *m.Message
	o.sent = append(o.sent, &mail.Outgoing{Message: &c, From: m.From, ID: m.ID})
	return nil
}

// to returns the messages sent to addr whose subject contains subject.
func (o *outbox) to(addr, subject string) []*mail.Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []*mail.Message
	for _, m := range o.sent {
		if strings.Contains(m.To, addr) && strings.Contains(m.Subject, subject) {
			out = append(out, m.Message)
		}
	}
	return out
}

// wait waits for the n-th message to addr with the subject and returns it.
func (o *outbox) wait(t *testing.T, addr, subject string, n int) *mail.Message {
	t.Helper()
	var got []*mail.Message
	testenv.Wait(t, 0, "mail to "+addr+": "+subject, func() bool { got = o.to(addr, subject); return len(got) >= n })
	return got[n-1]
}

var linkRE = regexp.MustCompile(`https?://\S+\?token=\S+`)

// tokenOf returns the token of the link in m's text.
func tokenOf(t *testing.T, m *mail.Message) string {
	t.Helper()
	link := linkRE.FindString(m.Text)
	u, err := url.Parse(link)
	if err != nil || link == "" {
		t.Fatalf("no link in %q", m.Text)
	}
	return u.Query().Get("token")
}

// flowsEnv is a database with the flows, their mailer and a started job
// client, and a clock that a test moves forward.
type flowsEnv struct {
	db       *sqldb.DB
	flows    *accounts.Flows
	users    *accounts.UserService
	sessions *accounts.SessionService
	out      *outbox
	jc       *jobs.Client
	ahead    atomic.Int64 // nanoseconds the clock is moved forward
}

func newFlowsEnv(t *testing.T, db *sqldb.DB, start bool) *flowsEnv {
	t.Helper()
	ctx := context.Background()
	if err := db.MigrateUp(ctx, jobs.Schema, mail.Schema); err != nil {
		t.Fatal(err)
	}
	e := &flowsEnv{db: db, out: &outbox{}}
	db.Now = func() time.Time { return time.Now().Add(time.Duration(e.ahead.Load())) }
	logger := dbtest.Logger(t, slog.LevelError)
	m, err := mail.New(db, mail.Config{From: "Kura <no-reply@kura.test>", Transport: e.out, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := mail.LoadTemplates(nil)
	if err != nil {
		t.Fatal(err)
	}
	e.flows, err = accounts.NewFlows(db, accounts.FlowsConfig{Mailer: m, Templates: tpl, PublicURL: "https://app.example.com/", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	ws := jobs.NewWorkers()
	m.Workers(ws)
	e.flows.Workers(ws)
	jc, err := jobs.New(db, jobs.Config{Workers: ws, PruneInterval: -1, PollInterval: 50 * time.Millisecond, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	m.SetJobs(jc)
	e.flows.SetJobs(jc)
	e.jc = jc
	if start {
		if err := jc.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			jc.Stop(sctx)
		})
	}
	e.users = accounts.NewUserService(db)
	e.users.OnCreate = e.flows.OnCreate
	e.sessions = accounts.NewSessionService(db, 0)
	return e
}

// wantInvalidLink fails unless err is the one answer to a token that
// cannot be used.
func wantInvalidLink(t *testing.T, what string, err error) {
	t.Helper()
	var ke *kura.Error
	if kura.ErrorCode(err) != kura.EBADREQUEST || !errors.As(err, &ke) || ke.Message != kura.InvalidLinkMessage {
		t.Errorf("%s: %v, want %q", what, err, kura.InvalidLinkMessage)
	}
}

func TestFlows_VerifyEmail(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		e := newFlowsEnv(t, db, true)
		ann := MustCreateUser(t, db, "ann@example.com", "ann") // without the hook: no mail
		u, err := e.users.CreateUser(ctx, kura.NewUser{Email: "Bob@Example.com", Username: "bob", Password: "password-1"})
		if err != nil {
			t.Fatal(err)
		}
		if !u.EmailVerifiedAt.IsZero() {
			t.Fatal("a new user is verified")
		}
		msg := e.out.wait(t, "bob@example.com", "Confirm your email", 1)
		if !strings.Contains(msg.Text, "https://app.example.com"+accounts.VerifyEmailPath+"?token=") || !strings.Contains(msg.Text, "24 hours") {
			t.Errorf("verification mail: %q", msg.Text)
		}
		token := tokenOf(t, msg)
		wantInvalidLink(t, "a tampered token", e.flows.VerifyEmail(ctx, tamper(token)))
		wantInvalidLink(t, "garbage", e.flows.VerifyEmail(ctx, "not-a-token"))
		wantInvalidLink(t, "a verification token used to reset", e.flows.ResetPassword(ctx, token, "new-password-1"))
		if err := e.flows.VerifyEmail(ctx, token); err != nil {
			t.Fatalf("verify: %v", err)
		}
		got, _ := e.users.FindUserByID(ctx, u.ID)
		if got.EmailVerifiedAt.IsZero() {
			t.Error("not verified after the link")
		}
		wantInvalidLink(t, "the token used twice", e.flows.VerifyEmail(ctx, token))

		// The resend: sent to an unverified account only, capped per hour.
		for range accounts.MaxLinksPerHour + 2 {
			if err := e.flows.SendVerification(ctx, "ANN@example.com"); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.flows.SendVerification(ctx, "bob@example.com"); err != nil { // verified: nothing sent
			t.Fatal(err)
		}
		waitJobsDone(t, e.jc)
		if n := len(e.out.to("ann@example.com", "Confirm your email")); n != accounts.MaxLinksPerHour {
			t.Errorf("%d verification mails to ann, want the cap %d", n, accounts.MaxLinksPerHour)
		}
		if n := len(e.out.to("bob@example.com", "Confirm your email")); n != 1 {
			t.Errorf("%d verification mails to the verified bob, want 1", n)
		}
		_ = ann

		// Expiry: a link older than VerifyEmailTTL is refused.
		e.ahead.Store(int64(time.Hour + time.Minute)) // the cap's hour is over
		if err := e.flows.SendVerification(ctx, "ann@example.com"); err != nil {
			t.Fatal(err)
		}
		late := tokenOf(t, e.out.wait(t, "ann@example.com", "Confirm your email", accounts.MaxLinksPerHour+1))
		e.ahead.Add(int64(accounts.VerifyEmailTTL))
		wantInvalidLink(t, "an expired token", e.flows.VerifyEmail(ctx, late))
	})
}

func TestFlows_PasswordReset(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		e := newFlowsEnv(t, db, true)
		ann := MustCreateUser(t, db, "ann@example.com", "ann")
		s1, err := e.sessions.Login(ctx, "ann", "password-1")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.flows.RequestPasswordReset(ctx, " Ann@Example.COM "); err != nil {
			t.Fatal(err)
		}
		if err := e.flows.RequestPasswordReset(ctx, "nobody@example.com"); err != nil {
			t.Fatalf("an unknown address: %v", err)
		}
		if err := e.flows.RequestPasswordReset(ctx, "not an address"); kura.ErrorCode(err) != kura.EINVALID {
			t.Errorf("a malformed address: %v, want invalid", err)
		}
		msg := e.out.wait(t, "ann@example.com", "Reset your password", 1)
		if !strings.Contains(msg.Text, accounts.ResetPasswordPath+"?token=") || !strings.Contains(msg.Text, "1 hour") {
			t.Errorf("reset mail: %q", msg.Text)
		}
		token := tokenOf(t, msg)

		// A password the rules refuse spends no token.
		if err := e.flows.ResetPassword(ctx, token, "short"); kura.ErrorCode(err) != kura.EINVALID || kura.ErrorFields(err)["password"] == "" {
			t.Fatalf("short password: %v", err)
		}
		if err := e.flows.ResetPassword(ctx, token, "new-password-1"); err != nil {
			t.Fatalf("reset: %v", err)
		}
		if _, err := e.sessions.Authenticate(ctx, s1.Token); kura.ErrorCode(err) != kura.EUNAUTHORIZED {
			t.Errorf("the session before the reset: %v, want ended", err)
		}
		if _, err := e.sessions.Login(ctx, "ann", "new-password-1"); err != nil {
			t.Errorf("login with the new password: %v", err)
		}
		changed := e.out.wait(t, "ann@example.com", "password on kura was changed", 1)
		if strings.Contains(changed.Text, "token=") {
			t.Errorf("password_changed carries a link: %q", changed.Text)
		}
		wantInvalidLink(t, "the reset token used twice", e.flows.ResetPassword(ctx, token, "new-password-2"))
		if got, _ := e.users.FindUserByID(ctx, ann.ID); got.EmailVerifiedAt.IsZero() {
			t.Error("a reset by mail did not verify the address")
		}

		// A later password change outdates every outstanding link: the
		// token is bound to the password hash.
		if err := e.flows.RequestPasswordReset(ctx, "ann@example.com"); err != nil {
			t.Fatal(err)
		}
		pending := tokenOf(t, e.out.wait(t, "ann@example.com", "Reset your password", 2))
		pw := "new-password-3"
		if _, err := e.users.UpdateUser(ctx, ann.ID, kura.UserUpdate{Password: &pw}); err != nil {
			t.Fatal(err)
		}
		wantInvalidLink(t, "a reset link after a password change", e.flows.ResetPassword(ctx, pending, "new-password-4"))

		// An expired link is refused like any other.
		e.ahead.Store(int64(time.Hour + time.Minute))
		if err := e.flows.RequestPasswordReset(ctx, "ann@example.com"); err != nil {
			t.Fatal(err)
		}
		late := tokenOf(t, e.out.wait(t, "ann@example.com", "Reset your password", 3))
		e.ahead.Add(int64(accounts.PasswordResetTTL))
		wantInvalidLink(t, "an expired reset link", e.flows.ResetPassword(ctx, late, "new-password-5"))
	})
}

// TestFlows_ResetRequestSameSteps: a request for a known address and one
// for an unknown address do the same steps on the request path, one job
// enqueued and nothing else written, so that neither the answer nor its
// time tells whether the account exists. The look-up happens in the job.
func TestFlows_ResetRequestSameSteps(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		e := newFlowsEnv(t, db, false) // no worker: what the request did stays
		MustCreateUser(t, db, "ann@example.com", "ann")
		before := countRows(t, db, "kura_mail") + countRows(t, db, "account_tokens")
		for _, addr := range []string{"ann@example.com", "nobody@example.com"} {
			if err := e.flows.RequestPasswordReset(ctx, addr); err != nil {
				t.Fatalf("%s: %v", addr, err)
			}
		}
		if after := countRows(t, db, "kura_mail") + countRows(t, db, "account_tokens"); after != before {
			t.Errorf("the request path wrote %d mail or token rows", after-before)
		}
		list, err := e.jc.List(ctx, jobs.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, j := range list {
			kinds = append(kinds, j.Kind)
		}
		if len(kinds) != 2 || kinds[0] != accounts.SendLinkKind || kinds[1] != accounts.SendLinkKind {
			t.Errorf("jobs enqueued = %v, want one %s each", kinds, accounts.SendLinkKind)
		}
	})
}

func TestFlows_EmailChange(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		e := newFlowsEnv(t, db, true)
		ann := MustCreateUser(t, db, "ann@example.com", "ann")
		MustCreateUser(t, db, "bob@example.com", "bob")
		if err := e.flows.RequestEmailChange(ctx, ann.ID, "BOB@example.com"); kura.ErrorCode(err) != kura.ECONFLICT {
			t.Errorf("a taken address: %v, want conflict", err)
		}
		if err := e.flows.RequestEmailChange(ctx, ann.ID, "nope"); kura.ErrorCode(err) != kura.EINVALID {
			t.Errorf("a malformed address: %v, want invalid", err)
		}
		// A reset link outstanding before the change is outdated by it.
		if err := e.flows.RequestPasswordReset(ctx, "ann@example.com"); err != nil {
			t.Fatal(err)
		}
		reset := tokenOf(t, e.out.wait(t, "ann@example.com", "Reset your password", 1))

		if err := e.flows.RequestEmailChange(ctx, ann.ID, "Ann.New@example.com"); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.users.FindUserByID(ctx, ann.ID); got.Email != "ann@example.com" {
			t.Errorf("the email changed before the link: %s", got.Email)
		}
		msg := e.out.wait(t, "ann.new@example.com", "Confirm your new email", 1)
		token := tokenOf(t, msg)
		wantInvalidLink(t, "an email-change token to verify", e.flows.VerifyEmail(ctx, token))
		if err := e.flows.ConfirmEmailChange(ctx, token); err != nil {
			t.Fatalf("confirm: %v", err)
		}
		got, _ := e.users.FindUserByID(ctx, ann.ID)
		if got.Email != "ann.new@example.com" || got.EmailVerifiedAt.IsZero() {
			t.Errorf("after the link: %s verified at %v", got.Email, got.EmailVerifiedAt)
		}
		told := e.out.wait(t, "ann@example.com", "email address of your account", 1)
		if !strings.Contains(told.Text, "ann.new@example.com") {
			t.Errorf("email_changed: %q", told.Text)
		}
		wantInvalidLink(t, "the email-change token used twice", e.flows.ConfirmEmailChange(ctx, token))
		wantInvalidLink(t, "a reset link after an email change", e.flows.ResetPassword(ctx, reset, "new-password-1"))

		// An admin's change, immediate, leaves the address unverified.
		other := "ann.admin@example.com"
		if got, err := e.users.UpdateUser(ctx, ann.ID, kura.UserUpdate{Email: &other}); err != nil || !got.EmailVerifiedAt.IsZero() {
			t.Errorf("immediate change: %v, verified at %v", err, got.EmailVerifiedAt)
		}
	})
}

func TestSessionService_RequireVerifiedEmail(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		e := newFlowsEnv(t, db, true)
		e.sessions.RequireVerifiedEmail = true
		if _, err := e.users.CreateUser(ctx, kura.NewUser{Email: "ann@example.com", Username: "ann", Password: "password-1"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.sessions.Login(ctx, "ann", "wrong-password"); kura.ErrorCode(err) != kura.EUNAUTHORIZED {
			t.Errorf("wrong password: %v, want unauthorized", err)
		}
		if _, err := e.sessions.Login(ctx, "ann", "password-1"); kura.ErrorCode(err) != kura.EFORBIDDEN {
			t.Errorf("unverified: %v, want forbidden", err)
		}
		if err := e.flows.VerifyEmail(ctx, tokenOf(t, e.out.wait(t, "ann@example.com", "Confirm", 1))); err != nil {
			t.Fatal(err)
		}
		if _, err := e.sessions.Login(ctx, "ann", "password-1"); err != nil {
			t.Errorf("verified: %v", err)
		}
	})
}

// waitJobsDone waits until no job waits or runs.
func waitJobsDone(t *testing.T, jc *jobs.Client) {
	t.Helper()
	testenv.Wait(t, 0, "the jobs done", func() bool {
		c, err := jc.Counts(context.Background())
		return err == nil && c.Depth()+c[jobs.StateRunning]+c[jobs.StatePending] == 0
	})
}

func countRows(t *testing.T, db *sqldb.DB, table string) (n int) {
	t.Helper()
	err := db.Read(context.Background(), func(q sqldb.Querier) error {
		return q.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM "+table).Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// tamper changes the first character of a token (the last one's low bits
// are padding that decoding ignores).
func tamper(token string) string {
	c := "A"
	if token[0] == 'A' {
		c = "B"
	}
	return c + token[1:]
}
