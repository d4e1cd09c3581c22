package maintain

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// The statuses of a step.
const (
	StatusDone    = "done"    // it ran
	StatusSkipped = "skipped" // below its threshold, not allowed, or report only: Detail says which
	StatusBusy    = "busy"    // it could not finish for other connections (a checkpoint while readers read): not a failure
	StatusFailed  = "failed"  // an error, or damage found: Run returns an error
)

// Report is what Run did and found. It prints as text (WriteText) and
// encodes as JSON.
type Report struct {
	Engine     string    `json:"engine"`
	Started    time.Time `json:"started"`
	Took       Seconds   `json:"took_seconds"`
	ReportOnly bool      `json:"report_only"`
	Steps      []Step    `json:"steps"`
	// SQLite is the file before and after (SQLite only).
	SQLite *SQLiteFile `json:"sqlite,omitempty"`
	// Tables are the tables of the schema with their figures before and
	// after (PostgreSQL, MySQL).
	Tables []Table  `json:"tables,omitempty"`
	Unused *Indexes `json:"unused_indexes,omitempty"`
	Budget *Budget  `json:"connection_budget,omitempty"`
}

// Step is one thing Run did or chose not to do.
type Step struct {
	Name   string  `json:"name"`             // such as "vacuum", "quick_check", "optimize_table"
	Target string  `json:"target,omitempty"` // the table, if the step is about one
	Status string  `json:"status"`           // done, skipped, busy or failed
	Detail string  `json:"detail,omitempty"` // why, or what it found
	Took   Seconds `json:"took_seconds"`
}

// SQLiteFile is a SQLite database file before and after maintenance.
type SQLiteFile struct {
	Path            string `json:"path"`
	PageSize        int64  `json:"page_size"`
	PagesBefore     int64  `json:"pages_before"`
	FreePagesBefore int64  `json:"free_pages_before"`
	PagesAfter      int64  `json:"pages_after"`
	FreePagesAfter  int64  `json:"free_pages_after"`
	BytesBefore     int64  `json:"bytes_before"` // the file on disk, without its -wal
	BytesAfter      int64  `json:"bytes_after"`
	WALBytesBefore  int64  `json:"wal_bytes_before"`
	WALBytesAfter   int64  `json:"wal_bytes_after"`
}

// Table is one table's figures before and after maintenance. Dead rows
// and their ratio are PostgreSQL's (n_dead_tup); free bytes are
// PostgreSQL's bloat estimate (the table's size times its dead ratio:
// space VACUUM makes reusable) or MySQL's data_free (space OPTIMIZE would
// give back).
type Table struct {
	Name           string     `json:"name"`
	Rows           int64      `json:"rows"` // an estimate on both engines
	Bytes          int64      `json:"bytes"`
	DeadRows       int64      `json:"dead_rows,omitempty"`
	DeadRatio      float64    `json:"dead_ratio,omitempty"`
	FreeBytes      int64      `json:"free_bytes"`
	DeadRowsAfter  int64      `json:"dead_rows_after,omitempty"`
	BytesAfter     int64      `json:"bytes_after"`
	FreeBytesAfter int64      `json:"free_bytes_after"`
	LastVacuum     *time.Time `json:"last_vacuum,omitempty"` // PostgreSQL: manual or auto, whichever is later
	LastAnalyze    *time.Time `json:"last_analyze,omitempty"`
	Action         string     `json:"action"` // what was done: "vacuum (analyze)", "analyze", "optimize", or "none"
}

// Seconds is a duration that encodes as a number of seconds.
type Seconds time.Duration

// MarshalJSON encodes s as seconds, to the millisecond.
func (s Seconds) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(time.Duration(s).Round(time.Millisecond).Seconds(), 'f', -1, 64)), nil
}

// UnmarshalJSON decodes seconds, so that a report read back is the same.
func (s *Seconds) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("seconds: %w", err)
	}
	*s = Seconds(f * float64(time.Second))
	return nil
}

func (s Seconds) String() string { return time.Duration(s).Round(time.Millisecond).String() }

// failure returns an error naming the failed steps, or nil.
func (r *Report) failure() error {
	var failed []string
	for _, s := range r.Steps {
		if s.Status == StatusFailed {
			name := s.Name
			if s.Target != "" {
				name += " " + s.Target
			}
			failed = append(failed, name+": "+s.Detail)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return fmt.Errorf("maintain: %s", strings.Join(failed, "; "))
}

// Summary is one line of what Run did, for a log.
func (r *Report) Summary() string {
	counts := map[string]int{}
	var did []string
	for _, s := range r.Steps {
		counts[s.Status]++
		if s.Status == StatusDone && s.Name != "quick_check" && s.Name != "analyze" {
			did = append(did, strings.TrimSpace(s.Name+" "+s.Target))
		}
	}
	line := fmt.Sprintf("%s: %d steps done, %d skipped, %d busy, %d failed", r.Engine, counts[StatusDone], counts[StatusSkipped], counts[StatusBusy], counts[StatusFailed])
	if len(did) > 0 {
		line += " (" + strings.Join(did, ", ") + ")"
	}
	if r.SQLite != nil {
		line += fmt.Sprintf("; file %s -> %s", bytesText(r.SQLite.BytesBefore), bytesText(r.SQLite.BytesAfter))
	}
	if r.Unused != nil && r.Unused.Available {
		line += fmt.Sprintf("; %d unused indexes", len(r.Unused.Unused))
	}
	if r.Budget != nil && r.Budget.Applicable {
		line += fmt.Sprintf("; connection budget %s (%d of %d)", r.Budget.Verdict, r.Budget.Total, r.Budget.Available)
	}
	return line
}

// WriteJSON writes r as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes r for a person: the steps, the file or the tables, the
// unused indexes and the budget.
func (r *Report) WriteText(w io.Writer) error {
	p := &printer{w: w}
	mode := ""
	if r.ReportOnly {
		mode = ", report only: nothing changed"
	}
	p.f("maintenance of the %s database (%s%s)\n", r.Engine, r.Took, mode)
	for _, s := range r.Steps {
		name := strings.TrimSpace(s.Name + " " + s.Target)
		p.f("  %-8s %-32s %s\n", s.Status, name, s.Detail)
	}
	if f := r.SQLite; f != nil {
		p.f("\nfile %s: %s -> %s (%d -> %d pages of %d bytes, %d -> %d free); WAL %s -> %s\n",
			f.Path, bytesText(f.BytesBefore), bytesText(f.BytesAfter), f.PagesBefore, f.PagesAfter, f.PageSize,
			f.FreePagesBefore, f.FreePagesAfter, bytesText(f.WALBytesBefore), bytesText(f.WALBytesAfter))
	}
	if len(r.Tables) > 0 {
		p.f("\n  %-28s %10s %10s %10s %8s %10s  %s\n", "TABLE", "ROWS", "SIZE", "FREE", "DEAD", "SIZE AFTER", "ACTION")
		for _, t := range r.Tables {
			dead := "-"
			if r.Engine == "postgres" {
				dead = fmt.Sprintf("%.0f%%", 100*t.DeadRatio)
			}
			p.f("  %-28s %10d %10s %10s %8s %10s  %s\n", t.Name, t.Rows, bytesText(t.Bytes), bytesText(t.FreeBytes), dead, bytesText(t.BytesAfter), t.Action)
		}
	}
	if r.Unused != nil {
		r.Unused.writeText(p)
	}
	if r.Budget != nil {
		r.Budget.writeText(p)
	}
	return p.err
}

// printer writes formatted text and keeps the first error.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) f(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

// bytesText returns n bytes in the largest binary unit that keeps it at
// or above 1.
func bytesText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
