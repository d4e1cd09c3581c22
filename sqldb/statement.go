package sqldb

// Statement is one of the statements a store runs on its hot paths, by
// name, in the text it runs: written once for every engine (? and ts(col),
// see Rebind). Tools that look at query plans take a list of them, such as
// the unused-index report of package maintain, which EXPLAINs each on
// SQLite; kura's stores list theirs (store.Statements), the job queue its
// own (jobs.Statements), and an application adds its store's.
type Statement struct {
	Name  string // such as "users.by_id"
	Query string
}
