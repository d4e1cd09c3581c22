package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// durationAsText finds a log attribute "duration" given as text (a
// Duration's String, or slog.String): it would be a string in the JSON
// log where the access log's, a time.Duration, is a number.
var durationAsText = regexp.MustCompile(`"duration",\s*[^\n]*\.String\(\)\)|slog\.String\("duration"`)

// TestLogs_DurationIsANumber: every log line's duration is a
// time.Duration, which the JSON log writes as nanoseconds (a number) and
// the text log as 1.234ms, as docs/OPERATIONS.md says; never a string in
// JSON.
func TestLogs_DurationIsANumber(t *testing.T) {
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != "../.." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if m := durationAsText.Find(src); m != nil {
			t.Errorf("%s logs duration as text (%s): log the time.Duration itself", path, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
