package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/backup"
	"github.com/kura-dev/kura/console"
	"github.com/kura-dev/kura/jobs"
	"github.com/kura-dev/kura/maintain"
)

// mountConsole serves the admin console on srv unless KURA_CONSOLE is
// false: over the database's own users (never a cache: an admin sees
// what is stored), the job queue, and the backups of KURA_BACKUP_DIR.
func (a *App) mountConsole(sessions kura.SessionService, admin kura.AdminService) error {
	if !a.cfg.Console {
		return nil
	}
	cfg := console.Config{
		Server:   a.srv,
		Sessions: sessions,
		Users:    accounts.NewUserService(a.db),
		Jobs:     a.jc,
		Figures:  a.consoleFigures,
		Secure:   !loopback(a.cfg.Addr),
		Logger:   a.log,
	}
	if admin != nil {
		cfg.Accounts = consoleAccounts{admin}
	}
	if a.cfg.BackupDir != "" {
		cfg.Backups = &consoleBackups{a: a}
	}
	return console.Mount(cfg)
}

// loopback reports whether addr listens on a loopback address only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && IsLoopback(host)
}

// consoleFigures are the overview's figures: the pools' use, the caches'
// hit rates and the requests, read from this process.
func (a *App) consoleFigures(ctx context.Context) []console.Figure {
	var out []console.Figure
	for _, p := range a.db.PoolStats() {
		g := "Database pool " + p.Name
		out = append(out,
			console.Figure{Group: g, Name: "in use / open (most)", Value: fmt.Sprintf("%d / %d (%d)", p.InUse, p.OpenConnections, p.MaxOpenConnections)},
			console.Figure{Group: g, Name: "waits at the gate", Value: fmt.Sprint(p.GateWaits)},
			console.Figure{Group: g, Name: "timeouts (503)", Value: fmt.Sprint(p.AcquireTimeouts)})
	}
	for _, c := range a.caches {
		s := c.c.Stats()
		rate := "no reads yet"
		if n := s.LocalHits + s.LocalMisses; n > 0 {
			rate = fmt.Sprintf("%.1f%% of %d reads", 100*float64(s.LocalHits+s.RedisHits)/float64(n), n)
		}
		out = append(out, console.Figure{Group: "Cache " + c.name, Name: "hit rate", Value: rate})
	}
	return append(out, a.traffic.figures()...)
}

// consoleBackups are the backups of KURA_BACKUP_DIR for the console: a
// backup taken or verified there is written to the run log, as kura
// backup's are.
type consoleBackups struct{ a *App }

func (b *consoleBackups) List(ctx context.Context) ([]console.Backup, error) {
	all, err := backup.List(b.a.cfg.BackupDir)
	if err != nil && len(all) == 0 {
		return nil, err
	}
	out := make([]console.Backup, len(all))
	for i, m := range all {
		out[i] = console.Backup{Name: m.Name, Started: m.Started, Size: m.Size, Engine: m.Engine, Rows: m.Rows(), Verified: "no"}
		if v := m.Verified; v != nil {
			out[i].Verified, out[i].VerifyAt = "yes", v.At
			if !v.OK {
				out[i].Verified = "FAILED: " + v.Problem
			}
		}
	}
	return out, nil
}

func (b *consoleBackups) Take(ctx context.Context) (string, error) {
	started := time.Now()
	m, err := backup.Create(ctx, b.a.cfg.Backup(b.a.log))
	if rerr := backup.Record(context.WithoutCancel(ctx), b.a.db, started, m, err); rerr != nil {
		b.a.log.Warn("backup: the run log was not written", "err", rerr)
	}
	if err != nil {
		return "", fmt.Errorf("take a backup: %w", err)
	}
	return m.Name, nil
}

func (b *consoleBackups) Verify(ctx context.Context, name string) error {
	m, err := backup.Find(b.a.cfg.BackupDir, name)
	if errors.Is(err, backup.ErrNotFound) {
		return kura.Errorf(kura.ENOTFOUND, "There is no backup called %q (any more).", name)
	} else if err != nil {
		return err
	}
	check, err := backup.Verify(ctx, m, b.a.cfg.Backup(b.a.log))
	if err != nil {
		return fmt.Errorf("verify %s: %w", m.Name, err)
	}
	if rerr := backup.RecordVerify(context.WithoutCancel(ctx), b.a.db, m.Name, check); rerr != nil {
		b.a.log.Warn("backup: the run log was not written", "err", rerr)
	}
	if !check.OK {
		return kura.Errorf(kura.ECONFLICT, "Backup %s failed its verify: %s", m.Name, check.Problem)
	}
	return nil
}

func (b *consoleBackups) Report(ctx context.Context) (string, error) {
	opts := MaintainOptions(b.a.db.Dialect())
	opts.ReportOnly = true
	opts.Budget = &maintain.BudgetInput{Instances: 1, PoolSize: b.a.cfg.PoolSize, MaxOverflow: b.a.cfg.MaxOverflow,
		WorkerConns: jobs.WorkerConns(b.a.db.Dialect())}
	r, err := maintain.Run(ctx, b.a.db, opts)
	if r == nil {
		return "", err
	}
	var buf bytes.Buffer
	if werr := r.WriteText(&buf); werr != nil {
		return "", werr
	}
	return strings.TrimSpace(buf.String()), nil
}

// consoleAccounts are the console's account actions over the server's own
// AdminService (cached when the cache is on, so that a change reaches
// every instance's caches), each audited with the admin who acted.
type consoleAccounts struct{ admin kura.AdminService }

func (c consoleAccounts) ChangeRole(ctx context.Context, by *kura.User, id int64, role kura.Role) (*kura.User, error) {
	return c.admin.ChangeAccount(ctx, kura.UserActor(by), id, kura.AccountChange{Role: &role})
}

func (c consoleAccounts) EndSessions(ctx context.Context, by *kura.User, id int64) (int, error) {
	return c.admin.EndSessions(ctx, kura.UserActor(by), id)
}

func (c consoleAccounts) ListAudit(ctx context.Context, opt kura.ListOptions) (*kura.Page[*console.AuditEntry], error) {
	l, err := c.admin.ListAudit(ctx, opt)
	if err != nil {
		return nil, err
	}
	out := &kura.Page[*console.AuditEntry]{NextCursor: l.NextCursor, Page: l.Page, PerPage: l.PerPage, Total: l.Total}
	out.Items = make([]*console.AuditEntry, len(l.Items))
	for i, e := range l.Items {
		out.Items[i] = &console.AuditEntry{At: e.At, Actor: e.Actor, Action: e.Action, TargetID: e.TargetID, Detail: e.Detail}
	}
	return out, nil
}
