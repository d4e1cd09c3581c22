package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"regexp"
	"strings"

	"github.com/kura-dev/kura/sqldb"
)

// urlFlag is a database URL a command is given on its command line, either
// as itself (--to URL) or by the name of the variable that holds it
// (--to-env NAME, read from the environment or the .env file). A URL's
// password on a command line shows in the process list (ps, /proc) to
// every user of the machine and stays in the shell's history; a variable's
// name shows nothing.
type urlFlag struct {
	name    string // the flag, such as "to"
	value   string // --NAME URL
	envName string // --NAME-env VARIABLE
}

// register adds --NAME and --NAME-env to fs; what names the database,
// such as "the database to restore into".
func (u *urlFlag) register(fs *flag.FlagSet, what string) {
	fs.StringVar(&u.value, u.name, "", fmt.Sprintf("the `URL` of %s, or a SQLite path (a password here shows in the process list: prefer --%s-env)", what, u.name))
	fs.StringVar(&u.envName, u.name+"-env", "", fmt.Sprintf("the `VARIABLE` of the environment (else of the .env file) that holds the URL of %s, such as KURA_MIGRATE_DATABASE_URL", what))
}

// given reports whether either flag was given.
func (u *urlFlag) given() bool { return u.value != "" || u.envName != "" }

// varName is the form of a variable --NAME-env accepts.
var varName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// resolve returns the URL: --NAME's, or the value of --NAME-env's variable
// in the environment, else in src's .env file. A URL with a password given
// as --NAME itself is taken, with a warning on warn naming --NAME-env. The
// errors never quote the URL; a mistake in the flags is a usageError.
func (u *urlFlag) resolve(src configSource, warn func(string)) (string, error) {
	switch {
	case u.value != "" && u.envName != "":
		return "", usageError{fmt.Sprintf("give --%s or --%s-env, not both", u.name, u.name)}
	case u.envName != "" && !varName.MatchString(u.envName):
		return "", usageError{fmt.Sprintf("--%s-env %q is not a variable's name", u.name, u.envName)}
	case u.envName != "":
		v, err := src.lookup(u.envName)
		if err != nil {
			return "", fmt.Errorf("--%s-env %s: %w", u.name, u.envName, err)
		}
		if err := sqldb.CheckURL(v); err != nil {
			return "", fmt.Errorf("--%s-env %s: %w", u.name, u.envName, err)
		}
		return v, nil
	}
	if err := sqldb.CheckURL(u.value); err != nil {
		return "", usageError{fmt.Sprintf("--%s: %v", u.name, err)}
	}
	if sqldb.RedactURL(u.value) != u.value {
		warn(fmt.Sprintf("--%s holds a password, which the process list shows to every user of this machine: name the variable that holds the URL with --%s-env instead", u.name, u.name))
	}
	return u.value, nil
}

// lookup returns the value of the variable name as a command's
// configuration sees it: the environment's, else the .env file's. An unset
// or empty variable is an error naming where it was looked for.
func (src configSource) lookup(name string) (string, error) {
	for _, kv := range src.environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name && v != "" {
			return v, nil
		}
	}
	where := "the environment"
	if src.envFile != "" {
		dotenv, err := readDotEnv(src.envFile)
		switch {
		case errors.Is(err, fs.ErrNotExist) && !src.envFileRequired:
		case err != nil:
			return "", err
		case dotenv[name] != "":
			return dotenv[name], nil
		}
		where += " or " + src.envFile
	}
	return "", fmt.Errorf("the variable is not set (looked in %s)", where)
}
