package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kura-dev/kura/backup"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

const backupAbout = `Take, list, verify, restore and prune backups of the database, online:
the server goes on serving and writing while a backup is taken. A backup is
a data file (a gzip-compressed SQLite snapshot, a pg_dump archive or a
gzip-compressed mariadb-dump script) and a manifest NAME.json of its row
counts and checksums, in KURA_BACKUP_DIR. serve and worker also take them
on a schedule (KURA_BACKUP_INTERVAL).`

// backupCommands are the subcommands of kura backup.
var backupCommands = []entry{
	{"create", "take a backup now", func(m *Main) Command { return &backupCreateCommand{backupBase: backupBase{m: m}} }},
	{"list", "list the backups, newest first", func(m *Main) Command { return &backupListCommand{backupBase: backupBase{m: m}} }},
	{"verify", "prove a backup restores and matches its manifest", func(m *Main) Command { return &backupVerifyCommand{backupBase: backupBase{m: m}} }},
	{"restore", "restore a backup into a new or empty database", func(m *Main) Command { return &backupRestoreCommand{backupBase: backupBase{m: m}} }},
	{"prune", "delete the backups the retention policy no longer keeps", func(m *Main) Command { return &backupPruneCommand{backupBase: backupBase{m: m}} }},
}

// backupEnv are the variables the backup commands read.
const backupEnv = envLog | envDB | envMigrator | envBackup

// backupBase is what every backup command has: its configuration flags,
// --dir and --json.
type backupBase struct {
	m    *Main
	cf   configFlags
	json bool
}

func (b *backupBase) flagSet(name string) *flag.FlagSet {
	fs := newFlagSet(name, &b.cf)
	b.cf.bind(fs, "dir", "KURA_BACKUP_DIR", "the backup `folder`")
	fs.BoolVar(&b.json, "json", false, "print the result as JSON")
	return fs
}

// config loads the configuration and makes the backup settings, with a
// progress bar on a terminal when the output is not JSON.
func (b *backupBase) config() (Config, backup.Config, *progressBars, error) {
	cfg, err := loadConfig(b.cf.source(b.m))
	if err != nil {
		return cfg, backup.Config{}, nil, err
	}
	bc := cfg.Backup(cfg.Logger(b.m.Stderr))
	bars := newProgressBars(b.m.Stderr)
	if bars != nil {
		bc.Progress = func(p backup.Progress) { bars.update(p.Step, p.Unit, p.Done, p.Total) }
	}
	return cfg, bc, bars, nil
}

// sweep removes what killed backups left in dir and says so on stderr:
// every backup command starts with it (create, verify and restore through
// the backup package).
func (b *backupBase) sweep(dir string) []string {
	removed, err := backup.Sweep(dir, time.Now())
	for _, name := range removed {
		fmt.Fprintf(b.m.Stderr, "kura: removed %s, left by a backup that was killed\n", name)
	}
	if err != nil {
		fmt.Fprintln(b.m.Stderr, "kura: warning:", err)
	}
	return removed
}

// printJSON writes v as indented JSON.
func (b *backupBase) printJSON(v any) error {
	enc := json.NewEncoder(b.m.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// withRunLog calls fn with the database when it has the backup run log
// (kura's migration 5), so that a backup or verify taken by hand counts
// for /health, doctor and the metrics; otherwise it does nothing. It never
// creates a SQLite file.
func withRunLog(ctx context.Context, cfg Config, log *slog.Logger, fn func(db *sqldb.DB) error) {
	if d, _ := sqldb.ParseDialect(cfg.URL()); d == sqldb.SQLite {
		path, err := sqldb.SQLitePath(cfg.URL())
		if err != nil {
			return
		}
		if _, err := os.Stat(path); err != nil {
			return
		}
	}
	db, err := sqldb.Open(ctx, cfg.DB(log))
	if err != nil {
		log.Warn("backup: the run log was not updated", "err", err)
		return
	}
	defer db.Close()
	list, err := db.MigrationStatus(ctx, store.Schema)
	if err != nil {
		log.Warn("backup: the run log was not updated", "err", err)
		return
	}
	for _, s := range list {
		if s.Version == 5 && s.Applied {
			if err := fn(db); err != nil {
				log.Warn("backup: the run log was not updated", "err", err)
			}
			return
		}
	}
}

// recordsRunLog reports whether the run log describes the backup folder
// dir: it does when dir is the folder of the configuration without --dir
// (KURA_BACKUP_DIR from the environment or the env file), the folder that
// serve backs up into and that /health, doctor and the metrics speak of. A
// backup taken into, or a verify of a copy in, another folder is not
// recorded, so that a damaged copy never marks the real backup failed.
func (b *backupBase) recordsRunLog(dir string, log *slog.Logger) bool {
	src := b.cf.source(b.m)
	src.flags = slices.DeleteFunc(slices.Clone(src.flags), func(f flagSetting) bool { return f.name == "KURA_BACKUP_DIR" })
	cfg, err := loadConfig(src)
	if err == nil && sameDir(cfg.BackupDir, dir) {
		return true
	}
	log.Info("backup: the run log is left as it is: the folder is not KURA_BACKUP_DIR's", "dir", dir, "KURA_BACKUP_DIR", cfg.BackupDir)
	return false
}

// sameDir reports whether a and b name one folder.
func sameDir(a, b string) bool {
	if aa, err := filepath.Abs(a); err == nil {
		if bb, err := filepath.Abs(b); err == nil && aa == bb {
			return true
		}
	}
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

// parseNamed parses the flags of a command that takes one NAME, which may
// stand before, between or after them: kura backup verify NAME --json.
// It returns the arguments that are not flags.
func (b *backupBase) parseNamed(cmd Command, fs *flag.FlagSet, args []string) ([]string, error) {
	if err := b.m.parseFlags(cmd, fs, args); err != nil {
		return nil, err
	}
	var names []string
	for rest := fs.Args(); len(rest) > 0; rest = fs.Args() {
		names = append(names, rest[0])
		if err := b.m.parseFlags(cmd, fs, rest[1:]); err != nil {
			return nil, err
		}
	}
	return names, nil
}

// manifestJSON is a backup as --json shows it: the manifest with its path.
type manifestJSON struct {
	*backup.Manifest
	Path string `json:"path"`
}

// --- create

type backupCreateCommand struct{ backupBase }

var backupCreateDoc = doc{
	synopsis: "backup create [--dir DIR] [--json] [--env-file FILE]",
	about: `Take a backup now, online, and print its name. On SQLite it is a VACUUM INTO
snapshot taken from a read connection; on PostgreSQL pg_dump (custom
format) inside a snapshot kura's checksums read too; on MySQL/MariaDB
mariadb-dump --single-transaction, whose rows kura checksums as they are
written. The dump programs must be installed and not older
than the server. With KURA_MIGRATE_DATABASE_URL set, the backup is taken as
that role, which can read every table. A failed backup leaves nothing.

The manifest records the database the backup is of, its "source": the
identity kura keeps in it (kura db identity prints it), its engine, server
address and name; never its URL, user or password. --json prints the
manifest with its path.`,
	env: backupEnv,
}

func (c *backupCreateCommand) Usage(w io.Writer) {
	printUsage(w, backupCreateDoc, c.flagSet("backup create"))
}

func (c *backupCreateCommand) Run(ctx context.Context, args []string) error {
	fs := c.flagSet("backup create")
	if err := c.m.parseFlags(c, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return c.m.usageErr(c, "backup create takes no arguments")
	}
	cfg, bc, bars, err := c.config()
	if err != nil {
		return err
	}
	started := time.Now()
	man, err := backup.Create(ctx, bc)
	bars.finish()
	if c.recordsRunLog(bc.Dir, bc.Logger) {
		withRunLog(ctx, cfg, bc.Logger, func(db *sqldb.DB) error { return backup.Record(ctx, db, started, man, err) })
	}
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(manifestJSON{man, man.Path()})
	}
	_, err = fmt.Fprintf(c.m.Stdout, "%s\t%s, %d tables, %d rows, %s\n", man.Name, humanBytes(man.Size), len(man.Tables), man.Rows(),
		seconds(man.Duration))
	return err
}

// --- list

type backupListCommand struct{ backupBase }

var backupListDoc = doc{
	synopsis: "backup list [--dir DIR] [--json] [--env-file FILE]",
	about: `List the backups, newest first: time, size, engine, schema version, whether
the last verify passed, and the database each was taken of (its address,
name and identity; --json: "source").`,
	env: backupEnv,
}

func (c *backupListCommand) Usage(w io.Writer) {
	printUsage(w, backupListDoc, c.flagSet("backup list"))
}

func (c *backupListCommand) Run(ctx context.Context, args []string) error {
	fs := c.flagSet("backup list")
	if err := c.m.parseFlags(c, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return c.m.usageErr(c, "backup list takes no arguments")
	}
	cfg, err := loadConfig(c.cf.source(c.m))
	if err != nil {
		return err
	}
	c.sweep(cfg.BackupDir)
	all, err := backup.List(cfg.BackupDir)
	if err != nil && len(all) == 0 {
		return err
	}
	if err != nil {
		fmt.Fprintln(c.m.Stderr, "kura: warning:", err)
	}
	if c.json {
		out := make([]manifestJSON, len(all))
		for i, m := range all {
			out[i] = manifestJSON{m, m.Path()}
		}
		return c.printJSON(out)
	}
	w := tabwriter.NewWriter(c.m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tTIME\tSIZE\tENGINE\tSCHEMA\tROWS\tVERIFIED\tSOURCE")
	for _, m := range all {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", m.Name, m.Started.UTC().Format(time.DateTime), humanBytes(m.Size),
			m.Engine, m.SchemaVersion(), m.Rows(), verifiedText(m.Verified), sourceText(m.Source))
	}
	return w.Flush()
}

// sourceText is a backup's source in a column: the database's address and
// name, and the start of its identity.
func sourceText(s backup.Source) string {
	if s.Engine == "" {
		return "-"
	}
	id := "no identity"
	if s.ID != "" {
		id = "id " + s.ID[:min(8, len(s.ID))]
	}
	if s.Engine == string(sqldb.SQLite) {
		return s.Database + " (" + id + ")"
	}
	return s.Address + "/" + s.Database + " (" + id + ")"
}

func verifiedText(c *backup.Check) string {
	switch {
	case c == nil:
		return "no"
	case c.OK:
		return "yes " + c.At.UTC().Format(time.DateTime)
	default:
		return "FAILED " + c.At.UTC().Format(time.DateTime)
	}
}

// --- verify

type backupVerifyCommand struct {
	backupBase
	latest bool
}

var backupVerifyDoc = doc{
	synopsis: "backup verify [NAME | --latest] [--dir DIR] [--json] [--env-file FILE]",
	about: `Prove that a backup restores: check its sha256, restore it into a scratch
database (a temporary SQLite file, or a temporary database on the server of
KURA_BACKUP_SCRATCH_URL, else of KURA_MIGRATE_DATABASE_URL or DATABASE_URL,
whose role must be allowed to create databases), compare every table's row
count and checksum with the manifest, and drop the scratch copy. The outcome
is written in the manifest and, for a backup of KURA_BACKUP_DIR, in the run
log that /health, doctor and the metrics read; a copy verified elsewhere
(--dir) never changes what they say of the real one. NAME and the flags
come in any order. The exit status is 0 when the backup matches, 1 when it
does not or the verify could not run.`,
	env: backupEnv,
}

func (c *backupVerifyCommand) flags() *flag.FlagSet {
	fs := c.flagSet("backup verify")
	fs.BoolVar(&c.latest, "latest", false, "verify the newest backup")
	return fs
}

func (c *backupVerifyCommand) Usage(w io.Writer) { printUsage(w, backupVerifyDoc, c.flags()) }

func (c *backupVerifyCommand) Run(ctx context.Context, args []string) error {
	fs := c.flags()
	names, err := c.parseNamed(c, fs, args)
	if err != nil {
		return err
	}
	if (len(names) == 1) == c.latest || len(names) > 1 {
		return c.m.usageErr(c, "backup verify needs a backup's NAME or --latest")
	}
	cfg, bc, bars, err := c.config()
	if err != nil {
		return err
	}
	man, err := findBackup(bc.Dir, strings.Join(names, ""), c.latest)
	if err != nil {
		return err
	}
	check, err := backup.Verify(ctx, man, bc)
	bars.finish()
	if err != nil {
		return explainScratch(cfg, err)
	}
	if c.recordsRunLog(bc.Dir, bc.Logger) {
		withRunLog(ctx, cfg, bc.Logger, func(db *sqldb.DB) error { return backup.RecordVerify(ctx, db, man.Name, check) })
	}
	if c.json {
		if err := c.printJSON(struct {
			Name string `json:"name"`
			*backup.Check
		}{man.Name, check}); err != nil {
			return err
		}
	} else if check.OK {
		fmt.Fprintf(c.m.Stdout, "%s\tverified: %d tables, %d rows match the manifest (%s)\n", man.Name, len(man.Tables), man.Rows(), seconds(check.Duration))
	}
	if !check.OK {
		return fmt.Errorf("backup %s failed its verify: %s", man.Name, check.Problem)
	}
	return nil
}

// findBackup returns the backup called name in dir, or the newest.
func findBackup(dir, name string, latest bool) (*backup.Manifest, error) {
	if latest {
		return backup.Latest(dir)
	}
	return backup.Find(dir, name)
}

// --- restore

type backupRestoreCommand struct {
	backupBase
	to     urlFlag
	force  bool
	other  bool
	latest bool
}

var backupRestoreDoc = doc{
	synopsis: "backup restore NAME|--latest --to-env VARIABLE|--to URL [--force [--other-database]] [--dir DIR] [--json] [--env-file FILE]",
	about: `Restore a backup into a database: a SQLite file, or an existing PostgreSQL
or MySQL database of the backup's engine (create it first). It prints the
backup's source and the target (engine, address, database, and its
identity, or "empty", or "no kura tables") before it acts.

Name the target by the variable that holds its URL, --to-env
KURA_MIGRATE_DATABASE_URL (read from the environment, else from the .env
file), or give the URL itself, --to URL. A server's URL holds a password,
which a command line shows to every user of the machine (ps) and leaves in
the shell's history: --to with a password works, with a warning.

All or nothing: the backup's sha256 is checked, the backup is loaded apart
from the target's data (SQLite: a file beside the target; PostgreSQL: one
transaction; MySQL: a scratch database kura_restore_… on the same server),
its every table's row count and checksum compared with the manifest, the
source's kura_instances rows deleted, and only then the target's tables are
replaced by the backup's in one step (a rename, a commit, one RENAME TABLE).
A failure or a kill before that step leaves the target as it was, and says
so. The restored database holds the backup's tables and no others, and
takes the identity of the backup's source.

A target that holds tables needs --force. A target that holds kura's tables
of another database (another identity; when either side has none, another
engine, address or name) is refused even with --force: check the target,
and pass --other-database as well to replace it anyway. Any restore is
refused while a kura server serves the target: every serve and worker
writes a row in kura_instances when it starts and every 10 s, and deletes
it when it stops; a row seen in the last 30 s means serving, unless it is
of this machine and its process is gone (killed). Stop the servers first.

Run it as the migration role: --to-env KURA_MIGRATE_DATABASE_URL. On MySQL
that account also needs every privilege on the scratch databases:
GRANT ALL PRIVILEGES ON ` + "`kura\\_restore\\_%`" + `.* TO it. What a killed restore
left there is finished or undone and dropped by the next backup command on
that server. Ownership and grants are not restored: on a server with
least-privilege roles, run "kura db roles --apply" after restoring.`,
	env: backupEnv,
}

func (c *backupRestoreCommand) flags() *flag.FlagSet {
	fs := c.flagSet("backup restore")
	c.to = urlFlag{name: "to"}
	c.to.register(fs, "the database to restore into")
	fs.BoolVar(&c.force, "force", false, "replace the content of a database that holds tables")
	fs.BoolVar(&c.other, "other-database", false, "with --force: replace it even though it holds another database than the backup's source")
	fs.BoolVar(&c.latest, "latest", false, "restore the newest backup")
	return fs
}

func (c *backupRestoreCommand) Usage(w io.Writer) { printUsage(w, backupRestoreDoc, c.flags()) }

func (c *backupRestoreCommand) Run(ctx context.Context, args []string) error {
	fs := c.flags()
	if err := c.m.parseFlags(c, fs, args); err != nil {
		return err
	}
	args = fs.Args()
	// NAME may come before the flags: kura backup restore NAME --to URL.
	if len(args) > 1 {
		name := args[0]
		if err := c.m.parseFlags(c, fs, args[1:]); err != nil {
			return err
		}
		args = append([]string{name}, fs.Args()...)
	}
	if (len(args) == 1) == c.latest || len(args) > 1 {
		return c.m.usageErr(c, "backup restore needs a backup's NAME or --latest")
	}
	if !c.to.given() {
		return c.m.usageErr(c, "backup restore needs --to-env VARIABLE or --to URL: the database to restore into")
	}
	cfg, bc, bars, err := c.config()
	if err != nil {
		return err
	}
	to, err := c.to.resolve(c.cf.source(c.m), func(msg string) { fmt.Fprintln(c.m.Stderr, "kura: warning:", msg) })
	if u, ok := err.(usageError); ok {
		return c.m.usageErr(c, u.msg)
	}
	if err != nil {
		return err
	}
	if err := checkRestoreRole(cfg, to); err != nil {
		return err
	}
	name := ""
	if len(args) == 1 {
		name = args[0]
	}
	man, err := findBackup(bc.Dir, name, c.latest)
	if err != nil {
		return err
	}
	var target backup.Target
	opts := backup.RestoreOptions{To: to, Force: c.force, OtherDatabase: c.other,
		Inspected: func(src backup.Source, dst backup.Target) {
			target = dst
			bars.finish()
			fmt.Fprintf(c.m.Stderr, "restore %s\n  source: %s\n  target: %s\n", man.Name, src, dst)
		}}
	start := time.Now()
	err = backup.Restore(ctx, man, bc, opts)
	bars.finish()
	if err != nil {
		return err
	}
	took := time.Since(start).Seconds()
	if c.json {
		return c.printJSON(map[string]any{"name": man.Name, "tables": len(man.Tables), "rows": man.Rows(), "duration_seconds": took,
			"source": man.Source, "target": target})
	}
	_, err = fmt.Fprintf(c.m.Stdout, "%s\trestored into %s: %d tables, %d rows match the manifest (%s)\n",
		man.Name, sqldb.RedactURL(to), len(man.Tables), man.Rows(), seconds(took))
	return err
}

// --- prune

type backupPruneCommand struct {
	backupBase
	dryRun bool
}

var backupPruneDoc = doc{
	synopsis: "backup prune [--dry-run] [--dir DIR] [--json] [--env-file FILE]",
	about: `Delete the backups the retention policy no longer keeps: every backup younger
than KURA_BACKUP_KEEP_DAYS days is kept, and the newest KURA_BACKUP_KEEP
whatever their age, and always the newest verified one. The temporary
files that backups which were killed left (no running kura holds them) are
removed too, and named (--json: "temporary_files").

A backup whose manifest cannot be read (damaged, or not readable by this
user) is left alone, data file and manifest, and not counted: the others
are pruned as if it were not there. It is listed as "left alone" (in
--json, "skipped"), and the exit status is 1 until it is dealt with: fix
the manifest's owner or mode, or move or delete its files by hand.`,
	env: backupEnv,
}

func (c *backupPruneCommand) flags() *flag.FlagSet {
	fs := c.flagSet("backup prune")
	fs.BoolVar(&c.dryRun, "dry-run", false, "print what would be deleted, delete nothing")
	return fs
}

func (c *backupPruneCommand) Usage(w io.Writer) { printUsage(w, backupPruneDoc, c.flags()) }

func (c *backupPruneCommand) Run(ctx context.Context, args []string) error {
	fs := c.flags()
	if err := c.m.parseFlags(c, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return c.m.usageErr(c, "backup prune takes no arguments")
	}
	cfg, err := loadConfig(c.cf.source(c.m))
	if err != nil {
		return err
	}
	// What killed backups left is swept first, so that it is reported.
	temps, serr := backup.Leftovers(cfg.BackupDir, time.Now())
	if !c.dryRun {
		temps, serr = backup.Sweep(cfg.BackupDir, time.Now())
	}
	prune := backup.Prune
	if c.dryRun {
		prune = backup.PrunePlan
	}
	deleted, err := prune(cfg.BackupDir, cfg.Retention(), time.Now())
	var skipped *backup.SkippedError
	errors.As(err, &skipped)
	err = errors.Join(err, serr)
	if c.json {
		if jerr := c.printJSON(pruneJSON(deleted, temps, skipped, c.dryRun)); jerr != nil {
			return errors.Join(err, jerr)
		}
		return err
	}
	verb, tempVerb := "deleted", "removed"
	if c.dryRun {
		verb, tempVerb = "would delete", "would remove"
	}
	for _, m := range deleted {
		fmt.Fprintf(c.m.Stdout, "%s %s\n", verb, m.Name)
	}
	for _, name := range temps {
		fmt.Fprintf(c.m.Stdout, "%s %s (a temporary file left by a backup that was killed)\n", tempVerb, name)
	}
	if skipped != nil {
		for _, u := range skipped.Backups {
			fmt.Fprintf(c.m.Stdout, "left alone %s: %v\n", u.Name, u.Err)
		}
	}
	if len(deleted) == 0 && len(temps) == 0 && skipped == nil {
		fmt.Fprintln(c.m.Stdout, "nothing to prune")
	}
	return err
}

// pruneJSON is prune's --json: the backups deleted (or that would be),
// the temporary files swept, and those left alone because their manifest
// cannot be read.
func pruneJSON(deleted []*backup.Manifest, temps []string, skipped *backup.SkippedError, dryRun bool) any {
	type left struct {
		Name    string `json:"name"`
		Problem string `json:"problem"`
	}
	names, lefts := make([]string, 0, len(deleted)), []left{}
	for _, m := range deleted {
		names = append(names, m.Name)
	}
	if skipped != nil {
		for _, u := range skipped.Backups {
			lefts = append(lefts, left{u.Name, u.Err.Error()})
		}
	}
	if temps == nil {
		temps = []string{}
	}
	return map[string]any{"deleted": names, "temporary_files": temps, "skipped": lefts, "dry_run": dryRun}
}

// humanBytes writes n bytes as KiB, MiB or GiB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// seconds writes a duration in seconds rounded to the millisecond.
func seconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond).String()
}
