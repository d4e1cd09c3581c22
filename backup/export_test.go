package backup

import (
	"context"
	"os"
)

// ReadTables reads the row counts and checksums of the database at url as
// a backup's manifest records them (on MySQL, from a dump of it), for the
// tests to tell which content a database holds.
func ReadTables(ctx context.Context, url string) ([]Table, error) {
	_, eng, err := prepare(Config{URL: url, Dir: os.TempDir()}, nil)
	if err != nil {
		return nil, err
	}
	snap, err := eng.read(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	return snap.tables, nil
}

// CompareSums says how got differs from want, or "" when they agree.
var CompareSums = compareSums

// ToolMessage is toolMessage, for the tests.
var ToolMessage = toolMessage

// SweepServer clears what killed restores left on the MySQL server of url,
// as the next backup command there does.
func SweepServer(ctx context.Context, url string) {
	sweepMySQL(ctx, Config{URL: url}.WithDefaults(), url)
}
