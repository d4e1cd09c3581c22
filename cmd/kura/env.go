package main

import (
	"errors"
	"slices"

	"github.com/kura-dev/kura/app"
)

// Config is kura's configuration: package app's, which every app built on
// kura reads alike (the variables table is app.Variables).
type Config = app.Config

// Seconds is a duration of the configuration (see app.Seconds).
type Seconds = app.Seconds

// envGroup is a set of variables that commands read together; a command's
// help lists the variables of its groups.
type envGroup = app.Group

const (
	envLog      = app.GroupLog
	envDB       = app.GroupDB
	envHTTP     = app.GroupHTTP
	envCache    = app.GroupCache
	envMigrate  = app.GroupMigrate
	envJobs     = app.GroupJobs
	envShutdown = app.GroupShutdown
	envPassword = app.GroupPassword
	envMetrics  = app.GroupMetrics
	envMigrator = app.GroupMigrator
	envRoles    = app.GroupRoles
	envBackup   = app.GroupBackup
	envStart    = app.GroupStart
	envDrain    = app.GroupDrain
	envMail     = app.GroupMail
	envConsole  = app.GroupConsole
)

// variable is one environment variable kura reads: app's, or one only a
// command of kura reads (field nil).
type variable struct {
	name  string
	group envGroup
	about string
	field func(*Config) any
	shown string
}

func (v variable) app() app.Variable {
	return app.Variable{Name: v.name, Group: v.group, About: v.about, Field: v.field, Shown: v.shown}
}

func (v variable) defaultText() string               { return v.app().Default() }
func (v variable) set(c *Config, value string) error { return v.app().Set(c, value) }
func (v variable) isBool() bool                      { return v.app().IsBool() }
func defaultConfig() Config                          { return app.DefaultConfig() }
func parseSeconds(s string) (Seconds, error)         { return app.ParseSeconds(s) }
func LoadConfig(environ []string, envFile string) (Config, error) {
	return app.LoadConfig(environ, envFile)
}

// variables lists kura's environment variables in the README's order:
// app's, then those only kura's commands read.
var variables = append(fromApp(app.Variables),
	variable{passwordEnv, envPassword, "the password of users create (else read from standard input)", nil, ""},
	variable{migratePasswordEnv, envRoles, "the migration role's password for db roles --apply (else prompted for)", nil, ""},
	variable{appPasswordEnv, envRoles, "the application role's password for db roles --apply (else prompted for)", nil, ""},
)

func fromApp(vs []app.Variable) []variable {
	out := make([]variable, len(vs))
	for i, v := range vs {
		out[i] = variable{v.Name, v.Group, v.About, v.Field, v.Shown}
	}
	return out
}

// lookupVariable returns the variable called name.
func lookupVariable(name string) (variable, bool) {
	i := slices.IndexFunc(variables, func(v variable) bool { return v.name == name })
	if i < 0 {
		return variable{}, false
	}
	return variables[i], true
}

// configSource is where a command's configuration comes from, the last
// winning: the .env file, the environment, the command's flags.
type configSource struct {
	envFile         string // "" for none
	envFileRequired bool   // named on the command line: it must exist
	environ         []string
	flags           []flagSetting
}

// flagSetting is a value given by a flag that stands for a variable.
type flagSetting struct{ flag, name, value string }

func readDotEnv(path string) (map[string]string, error) { return app.ReadDotEnv(path) }

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// loadConfig reads the configuration from src (app.Load); a bad value
// from a flag is a usage error.
func loadConfig(src configSource) (Config, error) {
	flags := make([]app.Flag, len(src.flags))
	for i, f := range src.flags {
		flags[i] = app.Flag{Flag: f.flag, Name: f.name, Value: f.value}
	}
	cfg, err := app.Load(app.Source{EnvFile: src.envFile, EnvFileRequired: src.envFileRequired, Environ: src.environ, Flags: flags})
	if fe := (*app.FlagError)(nil); errors.As(err, &fe) {
		return cfg, usageError{err.Error()}
	}
	return cfg, err
}
