package notes_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestBuildingGuide_SnippetsMatchTheCode keeps docs/BUILDING.md true: every
// Go and SQL snippet in it must appear, as is, in this app's sources, which
// compile and are tested.
func TestBuildingGuide_SnippetsMatchTheCode(t *testing.T) {
	guide, err := os.ReadFile(filepath.Join("..", "..", "docs", "BUILDING.md"))
	if err != nil {
		t.Fatal(err)
	}
	var sources strings.Builder
	err = filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(path, "_test.go") {
			return err
		}
		if strings.HasSuffix(path, ".go") || strings.HasSuffix(path, ".sql") {
			b, err := os.ReadFile(path)
			sources.Write(b)
			sources.WriteString("\n")
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```(go|sql)\n(.*?)```").FindAllStringSubmatch(string(guide), -1)
	if len(blocks) < 10 {
		t.Fatalf("found %d snippets in the guide; expected it to show the app", len(blocks))
	}
	for _, b := range blocks {
		if !strings.Contains(sources.String(), b[2]) {
			t.Errorf("this %s snippet of docs/BUILDING.md is not in examples/notes:\n%s", b[1], b[2])
		}
	}
}
