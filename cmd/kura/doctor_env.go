package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/kura-dev/kura/doctor"
	"github.com/kura-dev/kura/ratelimit"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/sqldb/roles"
)

// doctorEnvOf loads the configuration as serve would and opens the
// database without migrating; a database that does not open is a finding
// of the checks, not an error. A SQLite file that does not exist is not
// created.
func (m *Main) doctorEnvOf(ctx context.Context, cf *configFlags) (*doctor.Env, error) {
	src := cf.source(m)
	cfg, err := loadConfig(src)
	if err != nil {
		return nil, err
	}
	e := newDoctorEnv(cfg)
	e.EnvFile = src.envFile
	for _, kv := range src.environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			e.Environ[k] = v
		}
	}
	for _, f := range src.flags {
		e.Environ[f.name] = f.value
	}
	if src.envFile != "" {
		if e.DotEnv, err = readDotEnv(src.envFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	e.DB, e.DBErr = openForDoctor(ctx, cfg, m.Stderr)
	e.Scratch = scratchOf(cfg, e)
	return e, nil
}

// newDoctorEnv returns the doctor's view of cfg's values: no database, no
// .env file, nothing from the environment.
func newDoctorEnv(cfg Config) *doctor.Env {
	return &doctor.Env{
		DatabaseURL:        cfg.URL(),
		MigrateDatabaseURL: cfg.MigrateDatabaseURL,
		ReplicaURLs:        cfg.ReplicaURLList(),
		RedisURL:           cfg.RedisURL,
		MetricsAddr:        cfg.MetricsAddr,
		MetricsToken:       cfg.MetricsToken != "",
		SessionTTL:         cfg.SessionTTL.D(),
		BackupInterval:     cfg.BackupInterval.D(),
		BackupVerifyEvery:  cfg.BackupVerifyEvery,
		RateLimits:         rateLimitSettings(cfg),
		Environ:            map[string]string{},
		ScratchFix:         scratchFix(cfg),
	}
}

// openForDoctor opens the database of cfg as it is, never creating a
// SQLite file.
func openForDoctor(ctx context.Context, cfg Config, logs io.Writer) (*sqldb.DB, error) {
	if d, _ := sqldb.ParseDialect(cfg.URL()); d == sqldb.SQLite {
		path, err := sqldb.SQLitePath(cfg.URL())
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("no database file at %s yet", filepath.Clean(path))
		}
	}
	cfg.LogLevel = max(cfg.LogLevel, slog.LevelWarn) // the report is the output
	return sqldb.Open(ctx, cfg.DB(cfg.Logger(logs)))
}

func closeDoctorEnv(e *doctor.Env) {
	if e.DB != nil {
		e.DB.Close()
	}
}

// rateLimitSettings returns the values of this kura's rate limit
// variables: KURA_RATE_LIMIT, the switch, and the limits (KURA_*_RATE).
func rateLimitSettings(cfg Config) []doctor.Setting {
	var out []doctor.Setting
	for _, v := range variables {
		if v.field == nil || (v.name != "KURA_RATE_LIMIT" && !strings.HasSuffix(v.name, "_RATE")) {
			continue
		}
		switch p := v.field(&cfg).(type) {
		case *bool:
			out = append(out, doctor.Setting{Name: v.name, Value: *p})
		case *ratelimit.Limit:
			out = append(out, doctor.Setting{Name: v.name, Value: *p})
		}
	}
	return out
}

// scratchOf returns what keeps backup verify from making its scratch
// database on the server of cfg, "" when nothing does (or on SQLite,
// whose scratch copy is a temporary file): the role of
// KURA_BACKUP_SCRATCH_URL, else of KURA_MIGRATE_DATABASE_URL, else of
// DATABASE_URL, must be allowed to create databases (roles.MayMakeScratch).
// It reads the role's rights and creates nothing.
func scratchOf(cfg Config, e *doctor.Env) func(ctx context.Context) string {
	return func(ctx context.Context) string {
		name, raw := scratchSource(cfg)
		d, err := sqldb.ParseDialect(raw)
		if err != nil || d == sqldb.SQLite {
			return ""
		}
		role := roleOf(raw)
		db := e.DB
		if raw != cfg.URL() || db == nil {
			lc := cfg
			lc.LogLevel = max(lc.LogLevel, slog.LevelError)
			db, err = sqldb.Open(ctx, sqldb.Config{URL: raw, PoolSize: 1, MaxOverflow: -1, AllowInsecure: cfg.AllowInsecure,
				Logger: lc.Logger(io.Discard)})
			if err != nil {
				return fmt.Sprintf("cannot connect as %s (%s) to see its rights: %v", role, name, err)
			}
			defer db.Close()
		}
		may, err := roles.MayMakeScratch(ctx, db)
		switch {
		case err != nil:
			return fmt.Sprintf("cannot read the rights of %s (%s): %v", role, name, err)
		case !may:
			return fmt.Sprintf("%s, the role of %s, may not create the scratch database it restores into", role, name)
		}
		return ""
	}
}

// createAdminArgs is the command, after "kura ", that makes the first admin.
const createAdminArgs = doctor.CreateAdminArgs

// countAdmins returns the number of admin accounts.
func countAdmins(ctx context.Context, db *sqldb.DB) (int, error) { return doctor.CountAdmins(ctx, db) }
