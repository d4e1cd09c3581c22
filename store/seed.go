package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/kura-dev/kura/sqldb"
)

// seedBatch is the number of rows per INSERT statement (3 parameters each,
// well under every engine's limit on bound parameters).
const seedBatch = 500

// SeedUsers inserts n users quickly, for benchmarks and demos: multi-row
// INSERTs of seedBatch rows, each in its own transaction, all with the one
// password hash given (accounts.UserService.SeedUsers hashes
// accounts.SeedPassword). Emails and usernames carry a random run
// prefix ("seed-<run>-<i>@example.com", "s<run>_<i>"), so calling it twice
// adds n more users without clashing. progress, if not nil, is called after
// each batch with the number of users inserted so far.
func (s *Users) SeedUsers(ctx context.Context, n int, hash string, progress func(done int)) error {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return fmt.Errorf("seed users: %w", err)
	}
	run := hex.EncodeToString(b)
	for done := 0; done < n; {
		size := min(seedBatch, n-done)
		q := "INSERT INTO users (email, username, password_hash, role) VALUES " +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, 'user'), ", size), ", ")
		args := make([]any, 0, 3*size)
		for i := done; i < done+size; i++ {
			args = append(args, fmt.Sprintf("seed-%s-%d@example.com", run, i), fmt.Sprintf("s%s_%d", run, i), hash)
		}
		err := s.db.InTx(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.ExecContext(ctx, q, args...)
			return err
		})
		if err != nil {
			return fmt.Errorf("seed users: %w", err)
		}
		done += size
		if progress != nil {
			progress(done)
		}
	}
	return nil
}
