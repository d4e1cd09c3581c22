// Package console is kura's admin console: server-rendered pages under
// Prefix (/admin/) for the operator, to see health, users, jobs and
// backups and act on them without a shell.
//
// It is mounted on an httpapi.Server (Mount) and uses that server's login,
// so the console's logins meet the same rate limits and password guard as
// the API's. Only admins get in. It is secure by default: a session
// cookie that is HttpOnly, SameSite=Strict, scoped to /admin/ and Secure
// off loopback; a synchronizer token, derived from the session, on every
// form that changes something; writes accepted only from the same origin;
// a strict Content-Security-Policy; no caching of its pages. Its pages,
// style sheet and the one small script are embedded: nothing is fetched
// from elsewhere, and it works offline.
//
// The console reads and acts through small interfaces (Users, Accounts,
// Jobs, Backups) that kura's packages satisfy; package app wires them and
// KURA_CONSOLE=false leaves the console out (404).
package console
