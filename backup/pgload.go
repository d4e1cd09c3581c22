package backup

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/kura-dev/kura/sqldb"
)

// replace restores the backup over the database at to in one transaction
// of kura's: pg_restore writes the archive as a script (it connects to
// nothing), kura runs the script's statements and COPY data in the
// transaction, drops the target's tables that the backup does not hold,
// reads the loaded tables' sums in the same transaction and commits only
// when they match the manifest. Until the commit nobody else sees any of
// it; a failure, a mismatch or a kill (of kura, whose pg_restore dies
// with it, or of pg_restore) rolls it all back.
func (e *postgresEngine) replace(ctx context.Context, m *Manifest, to string, pr *progress) error {
	prog, err := findProgram(ctx, pgInstall, "pg_restore")
	if err != nil {
		return unchanged(err)
	}
	db, err := openServer(ctx, e.cfg, to)
	if err != nil {
		return unchanged(err)
	}
	defer db.Close()
	conn, err := db.Writer().Conn(ctx)
	if err != nil {
		return unchanged(err)
	}
	defer conn.Close()
	before, err := tableNames(ctx, conn, sqldb.Postgres)
	if err != nil {
		return unchanged(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		return unchanged(err)
	}
	committed := false
	defer func() {
		if !committed {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			conn.ExecContext(rctx, "ROLLBACK")
		}
	}()
	if err := dropOthers(ctx, conn, m, before); err != nil {
		return unchanged(err)
	}
	if err := e.runScript(ctx, prog, conn, m.Path(), len(before) > 0, pr); err != nil {
		return unchanged(err)
	}
	got, err := readSnapshot(ctx, conn, sqldb.Postgres, pr)
	if err != nil {
		return unchanged(fmt.Errorf("read the loaded copy: %w", err))
	}
	if err := checkLoaded(m, got); err != nil {
		return unchanged(err)
	}
	if contains(tableNamesOf(got), sqldb.InstancesTable) {
		if _, err := conn.ExecContext(ctx, "DELETE FROM "+sqldb.InstancesTable); err != nil {
			return unchanged(fmt.Errorf("clear kura_instances: %w", err))
		}
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return unchanged(fmt.Errorf("commit: %s", pgMessage(err)))
	}
	committed = true
	return nil
}

func tableNamesOf(s *snapshot) []string {
	names := make([]string, len(s.tables))
	for i, t := range s.tables {
		names[i] = t.Name
	}
	return names
}

// dropOthers drops the target's tables that the backup does not hold
// (made by migrations newer than the backup, say), with what depends on
// them: the restored database holds the backup's tables and no others.
// The script's own --clean drops the tables it holds.
func dropOthers(ctx context.Context, conn *sql.Conn, m *Manifest, names []string) error {
	held := map[string]bool{}
	for _, t := range m.Tables {
		held[t.Name] = true
	}
	for _, n := range names {
		if held[n] {
			continue
		}
		if _, err := conn.ExecContext(ctx, "DROP TABLE IF EXISTS "+quote(sqldb.Postgres, n)+" CASCADE"); err != nil {
			return fmt.Errorf("drop table %s, which the backup does not hold: %s", n, pgMessage(err))
		}
	}
	return nil
}

// runScript runs pg_restore on the archive at file, writing its script,
// and executes the script on conn, inside the caller's transaction.
func (e *postgresEngine) runScript(ctx context.Context, prog program, conn *sql.Conn, file string, clean bool, pr *progress) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	pr.start("restore", "bytes", fi.Size())
	args := []string{"--no-owner", "--no-acl", "--file=-"}
	if clean {
		args = append(args, "--clean", "--if-exists")
	}
	pipeR, pipeW := io.Pipe()
	ran := make(chan error, 1)
	go func() {
		err := run(ctx, prog, child{args: args, stdin: pr.reader(f), stdout: pipeW})
		pipeW.CloseWithError(err)
		ran <- err
	}()
	execErr := execScript(ctx, conn, bufio.NewReaderSize(pipeR, 1<<20))
	pipeR.CloseWithError(errors.New("the script was not run to its end")) // pg_restore stops
	runErr := <-ran
	if execErr != nil {
		return execErr // pg_restore's own failure, if first, reached it through the pipe
	}
	if runErr != nil {
		return runErr
	}
	// The script sets the search path and other settings for its
	// session; the sums read after it need the connection's own.
	if _, err := conn.ExecContext(ctx, "RESET ALL"); err != nil {
		return err
	}
	return nil
}

// execScript executes a pg_restore script from r on conn: the statements
// between two COPYs as one simple query, the data of each COPY through
// the COPY protocol.
func execScript(ctx context.Context, conn *sql.Conn, r *bufio.Reader) error {
	var stmts strings.Builder
	flush := func() error {
		if strings.TrimSpace(stmts.String()) == "" {
			stmts.Reset()
			return nil
		}
		_, err := conn.ExecContext(ctx, stmts.String())
		stmts.Reset()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("run the backup's script: %s", pgMessage(err))
		}
		return nil
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil && err != io.EOF {
			return err
		}
		switch {
		case isCopy(line):
			if err := flush(); err != nil {
				return err
			}
			if err := copyData(ctx, conn, strings.TrimSpace(line), r); err != nil {
				return err
			}
		case strings.HasPrefix(line, `\restrict `), strings.HasPrefix(line, `\unrestrict `):
			// psql's guard against a script that smuggles in meta-commands;
			// this reader runs none.
		default:
			stmts.WriteString(line)
		}
		if err == io.EOF {
			return flush()
		}
	}
}

// isCopy says whether line starts the data of a table in a pg_restore
// script: COPY … FROM stdin;
func isCopy(line string) bool {
	return strings.HasPrefix(line, "COPY ") && strings.HasSuffix(strings.TrimRight(line, "\r\n"), " FROM stdin;")
}

// copyData sends the data lines that follow a COPY statement, up to its
// end mark (\.), through the COPY protocol.
func copyData(ctx context.Context, conn *sql.Conn, stmt string, r *bufio.Reader) error {
	table := strings.Fields(stmt)[1]
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("COPY %s: not a pgx connection", table)
		}
		cr := &copyReader{r: r, start: true}
		_, err := c.Conn().PgConn().CopyFrom(ctx, cr, stmt)
		switch {
		case cr.err != nil:
			return cr.err // the script stopped (pg_restore failed or was killed)
		case err != nil && ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			return fmt.Errorf("load table %s: %s", table, pgMessage(err))
		case !cr.done:
			return fmt.Errorf("load table %s: the script ends inside its data", table)
		}
		return nil
	})
}

// copyReader reads the data lines of one COPY from a pg_restore script
// and ends at its end mark, which it consumes.
type copyReader struct {
	r       *bufio.Reader
	pending []byte // the rest of a line that did not fit the last Read
	start   bool   // at the start of a line
	done    bool   // the end mark was read
	err     error  // the script's reader failed
}

var endOfCopy = []byte("\\.\n")

func (c *copyReader) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	switch {
	case c.done:
		return 0, io.EOF
	case c.err != nil:
		return 0, c.err
	}
	if c.start {
		if mark, _ := c.r.Peek(len(endOfCopy)); bytes.Equal(mark, endOfCopy) {
			c.r.Discard(len(endOfCopy))
			c.done = true
			return 0, io.EOF
		}
	}
	line, err := c.r.ReadSlice('\n')
	c.start = len(line) > 0 && line[len(line)-1] == '\n'
	n := copy(p, line)
	c.pending = append(c.pending[:0], line[n:]...)
	switch {
	case err == nil, errors.Is(err, bufio.ErrBufferFull):
	case err == io.EOF:
		c.err = io.ErrUnexpectedEOF // the script ends inside the data
	default:
		c.err = err
	}
	if n > 0 || c.err == nil {
		return n, nil
	}
	return 0, c.err
}

// pgMessage is a PostgreSQL error without the data it may quote: its
// message scrubbed of values, and none of its detail (the failing row),
// context (the COPY line) or the query.
func pgMessage(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return bound(scrubLine(pe.Severity+": "+pe.Message), maxToolLine) + " (SQLSTATE " + pe.Code + ")"
	}
	return bound(scrubLine(err.Error()), maxToolLine)
}
