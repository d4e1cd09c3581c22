package backup

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Manifest describes one backup. It is stored beside the data file as
// NAME.json and holds no secret: no URL, user, password or host
// credentials. Source says which database it is of.
type Manifest struct {
	Name          string      `json:"name"`           // such as kura-20261201T120000Z-postgres
	Engine        string      `json:"engine"`         // sqlite, postgres or mysql
	Source        Source      `json:"source"`         // the database it was taken of: its identity, address and name
	ServerVersion string      `json:"server_version"` // as the server reports it
	KuraVersion   string      `json:"kura_version"`
	Schema        []SchemaSet `json:"schema"`  // the version of every migration set found
	Tool          string      `json:"tool"`    // the program and version that wrote the file
	File          string      `json:"file"`    // the data file's name, in the same folder
	Format        string      `json:"format"`  // sqlite+gzip, pg_dump-custom or sql+gzip
	Size          int64       `json:"size"`    // the data file's size in bytes
	SHA256        string      `json:"sha256"`  // of the data file, hex
	Tables        []Table     `json:"tables"`  // row counts and content checksums
	Started       time.Time   `json:"started"` // UTC
	Ended         time.Time   `json:"ended"`   // UTC
	Duration      float64     `json:"duration_seconds"`
	Verified      *Check      `json:"verified,omitempty"` // the last verify's outcome

	dir string // the folder it was read from
}

// SchemaSet is the version of one migration set (its history table) at
// the time of the backup.
type SchemaSet struct {
	Table   string `json:"table"`
	Version int64  `json:"version"`
}

// Table is one table's row count and the checksum of its content, read in
// primary-key order from the same snapshot the backup holds (on MySQL,
// the checksum of its rows' text in the dump).
type Table struct {
	Name     string `json:"name"`
	Rows     int64  `json:"rows"`
	Checksum string `json:"checksum"`
}

// Check is the outcome of a verify: when it ran, whether the restored copy
// matched the manifest, and if not, why.
type Check struct {
	At       time.Time `json:"at"`
	OK       bool      `json:"ok"`
	Duration float64   `json:"duration_seconds"`
	Problem  string    `json:"problem,omitempty"`
}

// Path is the data file's full path.
func (m *Manifest) Path() string { return filepath.Join(m.dir, m.File) }

// Dir is the folder the backup is in.
func (m *Manifest) Dir() string { return m.dir }

// manifestPath is where the manifest of the backup called name is stored.
func manifestPath(dir, name string) string { return filepath.Join(dir, name+".json") }

// Rows is the number of rows in all tables.
func (m *Manifest) Rows() int64 {
	var n int64
	for _, t := range m.Tables {
		n += t.Rows
	}
	return n
}

// SchemaVersion is the version of kura's own schema (goose_db_version), or
// of the first set when kura's is absent.
func (m *Manifest) SchemaVersion() int64 {
	for _, s := range m.Schema {
		if s.Table == "goose_db_version" {
			return s.Version
		}
	}
	if len(m.Schema) > 0 {
		return m.Schema[0].Version
	}
	return 0
}

// write stores m in its folder atomically: a temporary file, synced, then
// renamed over the manifest, and the folder synced.
func (m *Manifest) write() error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(manifestPath(m.dir, m.Name), append(b, '\n'))
}

// ErrNotFound is returned when no backup has the name asked for.
var ErrNotFound = errors.New("no such backup")

// UnreadableError is a backup whose manifest cannot be read: damaged, not
// describing its backup, or not readable by this user. List leaves it out
// and Prune leaves its files alone.
type UnreadableError struct {
	Name string // the backup's name, from the manifest's file name
	Err  error
}

func (e *UnreadableError) Error() string { return "backup " + e.Name + ": " + e.Err.Error() }
func (e *UnreadableError) Unwrap() error { return e.Err }

// Unreadable returns the backups whose manifests List could not read,
// from its error.
func Unreadable(err error) []*UnreadableError {
	var out []*UnreadableError
	var walk func(error)
	walk = func(err error) {
		if u, ok := err.(*UnreadableError); ok {
			out = append(out, u)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
		}
	}
	walk(err)
	return out
}

// List returns the backups in dir, newest first. A folder that does not
// exist holds none. Manifests that cannot be read are skipped and returned
// in the error, one *UnreadableError each, joined (Unreadable lists them),
// so that one damaged manifest hides no other backup.
func List(dir string) ([]*Manifest, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list backups: %w", err)
	}
	var (
		out  []*Manifest
		errs []error
	)
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if e.IsDir() || !ok || !strings.HasPrefix(name, namePrefix) {
			continue
		}
		m, err := read(dir, name)
		if err != nil {
			errs = append(errs, &UnreadableError{Name: name, Err: err})
			continue
		}
		out = append(out, m)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Started.Equal(out[j].Started) {
			return out[i].Started.After(out[j].Started)
		}
		return out[i].Name > out[j].Name
	})
	return out, errors.Join(errs...)
}

// Find returns the backup called name in dir; name may also be the data
// file's or the manifest's file name.
func Find(dir, name string) (*Manifest, error) {
	name = filepath.Base(name)
	name = strings.TrimSuffix(name, ".json")
	for _, ext := range []string{extSQLite, extPostgres, extMySQL} {
		name = strings.TrimSuffix(name, ext)
	}
	if !strings.HasPrefix(name, namePrefix) {
		return nil, fmt.Errorf("backup %q: %w in %s (names start with %q; kura backup list shows them)", name, ErrNotFound, dir, namePrefix)
	}
	m, err := read(dir, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("backup %q: %w in %s", name, ErrNotFound, dir)
	}
	if err != nil {
		return nil, &UnreadableError{Name: name, Err: err}
	}
	return m, nil
}

// Latest returns the newest backup in dir.
func Latest(dir string) (*Manifest, error) {
	all, err := List(dir)
	if len(all) > 0 {
		return all[0], nil
	}
	if err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%w: the folder %s holds no backup", ErrNotFound, dir)
}

func read(dir, name string) (*Manifest, error) {
	b, err := os.ReadFile(manifestPath(dir, name))
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("the manifest is damaged: %w", err)
	}
	// The data file is the backup's own (NAME.ext, in the same folder):
	// a manifest never leads Prune to another backup's file.
	if m.Name != name || !strings.HasPrefix(m.File, name+".") || filepath.Base(m.File) != m.File {
		return nil, errors.New("the manifest does not describe this backup")
	}
	m.dir = dir
	return &m, nil
}
