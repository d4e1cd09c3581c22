package main

import (
	"os"
	"path/filepath"
	"strings"
)

// devBanner is the banner's warning in development mode.
const devBanner = "  DEV      development mode (KURA_DEV): CORS open to http://localhost:* and http://127.0.0.1:*, no registration limit; never in production\n"

// kuraCommand returns how to run kura the way this process was started:
// "go run ./cmd/kura" for a binary go run built in its temporary folder,
// else "kura".
func kuraCommand() string {
	exe, err := os.Executable()
	if err != nil {
		return "kura"
	}
	return commandFor(exe)
}

// commandFor is kuraCommand for the executable at exe: go run builds into
// a go-build* folder, under $GOTMPDIR or the temporary folder, as
// .../go-build123/b001/exe/kura.
func commandFor(exe string) string {
	dir := filepath.ToSlash(filepath.Dir(exe))
	if strings.Contains(dir, "/go-build") && strings.HasSuffix(dir, "/exe") {
		return "go run ./cmd/kura"
	}
	return "kura"
}
