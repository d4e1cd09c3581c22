// Package backup takes online, consistent backups of a kura database on
// SQLite, PostgreSQL and MySQL/MariaDB, proves that they restore, restores
// them and prunes old ones by a retention policy.
//
// A backup is two files in one folder: the data (a gzip-compressed SQLite
// snapshot, a pg_dump custom-format archive or a gzip-compressed
// mariadb-dump/mysqldump script) and its manifest, NAME.json, which records
// the engine, the server's, kura's and the schema's versions, every table's
// row count and content checksum, the data file's size and sha256, and when
// the backup started and ended. Both are written under temporary names,
// synced and renamed, the manifest last: a backup is listed only once it is
// whole, and a crash or a full disk mid-way leaves nothing that looks good.
//
// Start with Create, then List, Verify, Restore and Prune:
//
//	m, err := backup.Create(ctx, db, backup.Config{Dir: "./data/backups", URL: url})
//	...
//	res, err := backup.Verify(ctx, m, backup.Config{Dir: "./data/backups", URL: url})
//
// Create never holds the writer: SQLite is copied with VACUUM INTO from a
// read connection of its own (a WAL snapshot, writers go on), PostgreSQL
// with pg_dump inside an exported snapshot that the checksums read too,
// MySQL with mysqldump --single-transaction. The dump programs get their
// credentials as a file in no folder (an anonymous memory file on Linux),
// never on their command line, in their environment or in the backup
// folder, and their errors reach kura's without the rows they quote. A
// backup's work runs at the lowest CPU priority and rests twice as long as
// it works, so that the application keeps the CPU.
//
// The manifest records the backup's Source: the identity kura keeps in the
// database, its engine, address and name. Restore is all or nothing on
// every engine: it loads the backup apart from the target, checks it
// against the manifest and only then replaces the target's tables in one
// step, and it refuses a target that holds another database unless told
// so (RestoreOptions).
package backup
