package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The tests of this file hold what README.md and docs/ say of kura's
// command line to what the binary does: the commands, their flags, the
// variables each reads. A new command, flag or variable fails them until
// the docs say it.

// readDoc returns the text of a file of the repository, such as
// "README.md" or "docs/OPERATIONS.md".
func readDoc(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../../" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// docFiles are the documents whose claims the tests check.
var docFiles = []string{"README.md", "docs/ARCHITECTURE.md", "docs/BENCHMARKS.md", "docs/BUILDING.md", "docs/DEPLOY.md", "docs/OPERATIONS.md", "docs/SCALING.md", "docs/SECURITY.md"}

// leaf is a command that runs, as its help describes it.
type leaf struct {
	path  []string // such as [backup restore]
	usage string   // what -h prints
}

func (l leaf) name() string { return strings.Join(l.path, " ") }

// synopsis is the first line of the usage, after "Usage: kura ".
func (l leaf) synopsis() string {
	first, _, _ := strings.Cut(l.usage, "\n")
	return strings.TrimPrefix(first, "Usage: kura ")
}

// flags are the flags the usage's Flags section lists, without dashes.
func (l leaf) flags() []string {
	var out []string
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z][a-z0-9-]*)`).FindAllStringSubmatch(section(l.usage, "Flags:"), -1) {
		out = append(out, m[1])
	}
	return out
}

// variables are the variables the usage's Environment section lists.
func (l leaf) variables() []string {
	var out []string
	for _, m := range regexp.MustCompile(`(?m)^  ([A-Z][A-Z0-9_]+)  `).FindAllStringSubmatch(section(l.usage, "Environment"), -1) {
		if m[1] != "VARIABLE" {
			out = append(out, m[1])
		}
	}
	return out
}

// section returns the part of a usage from the line starting with head to
// the next blank line followed by a line that is not indented.
func section(usage, head string) string {
	i := strings.Index(usage, "\n"+head)
	if i < 0 {
		return ""
	}
	s := usage[i+1:]
	if j := regexp.MustCompile(`\n\n[^ \n]`).FindStringIndex(s); j != nil {
		s = s[:j[0]]
	}
	return s
}

// leaves returns every command that runs, in the order kura's help lists
// them, groups expanded.
func leaves(t *testing.T) []leaf {
	t.Helper()
	m := &Main{}
	var out []leaf
	var walk func(prefix []string, table []entry)
	walk = func(prefix []string, table []entry) {
		for _, e := range table {
			path := append(slices.Clone(prefix), e.name)
			cmd := e.new(m)
			if g, ok := cmd.(*group); ok {
				walk(path, g.subs)
				continue
			}
			var b strings.Builder
			cmd.Usage(&b)
			out = append(out, leaf{path: path, usage: b.String()})
		}
	}
	walk(nil, commands())
	return out
}

// TestHelp_SynopsisNamesEveryFlag: each command's synopsis names exactly
// the flags its help lists, and each that reads the configuration takes
// --env-file.
func TestHelp_SynopsisNamesEveryFlag(t *testing.T) {
	flagRE := regexp.MustCompile(`--([a-z][a-z0-9-]*)`)
	for _, l := range leaves(t) {
		var named []string
		for _, m := range flagRE.FindAllStringSubmatch(l.synopsis(), -1) {
			if !slices.Contains(named, m[1]) {
				named = append(named, m[1])
			}
		}
		got, want := slices.Sorted(slices.Values(named)), slices.Sorted(slices.Values(l.flags()))
		if !slices.Equal(got, want) {
			t.Errorf("kura %s: the synopsis names %v, the flags are %v", l.name(), got, want)
		}
		if len(l.variables()) > 0 && !slices.Contains(l.flags(), "env-file") {
			t.Errorf("kura %s reads %v but takes no --env-file", l.name(), l.variables())
		}
	}
}

// TestREADME_CommandLine: the README's list of commands is every
// command's synopsis, in the order of kura's help (--env-file, which
// every command that reads the configuration takes, left out).
func TestREADME_CommandLine(t *testing.T) {
	readme := readDoc(t, "README.md")
	_, block, ok := strings.Cut(readme, "## The command line\n\n```\n")
	if !ok {
		t.Fatal("README.md has no command list under \"## The command line\"")
	}
	block, _, _ = strings.Cut(block, "```")
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(block), "\n") {
		cmd, _, _ := strings.Cut(line, " #")
		got = append(got, strings.TrimSpace(cmd))
	}
	var want []string
	for _, l := range leaves(t) {
		want = append(want, "kura "+strings.Replace(l.synopsis(), " [--env-file FILE]", "", 1))
	}
	if !slices.Equal(got, want) {
		t.Errorf("README's command list:\n%s\nthe binary's synopses:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestDocs_CommandsAndFlags: every kura command line in the docs' code
// (code blocks and inline code) names a command kura has and only flags
// that command takes.
func TestDocs_CommandsAndFlags(t *testing.T) {
	byName := map[string]leaf{}
	groups := map[string]bool{}
	for _, l := range leaves(t) {
		byName[l.name()] = l
		if len(l.path) > 1 {
			groups[l.path[0]] = true
		}
	}
	flagRE := regexp.MustCompile(`(?:^|[\[|(])--([a-z][a-z0-9-]*)`)
	checked := 0
	for _, file := range docFiles {
		for _, code := range codeOf(readDoc(t, file)) {
			for _, seg := range regexp.MustCompile(`&&|\|\||;| \| |\$\(`).Split(code, -1) {
				words := strings.Fields(seg)
				for i := 0; i < len(words); i++ {
					w := strings.TrimSuffix(strings.TrimSuffix(words[i], ".failed"), ".previous")
					if w != "kura" && !strings.HasSuffix(w, "/kura") {
						continue
					}
					names, n := commandAt(words[i+1:], byName, groups)
					if names == nil {
						continue
					}
					checked++
					for _, tok := range words[i+1+n:] {
						if tok == "kura" || strings.HasSuffix(tok, "/kura") {
							break
						}
						for _, m := range flagRE.FindAllStringSubmatch(tok, -1) {
							for _, name := range names {
								if m[1] != "env-file" && !slices.Contains(byName[name].flags(), m[1]) {
									t.Errorf("%s: %q: kura %s has no --%s", file, strings.TrimSpace(seg), name, m[1])
								}
							}
						}
					}
				}
			}
		}
	}
	if checked < 50 {
		t.Fatalf("only %d kura command lines found in the docs: the scan is broken", checked)
	}
	t.Logf("%d kura command lines checked", checked)
}

// commandAt returns the commands that words (what follows "kura") name,
// and how many words that took: "backup restore" is one, "migrate
// up|down|status" three. nil when the words name no command (prose such
// as "kura serves").
func commandAt(words []string, byName map[string]leaf, groups map[string]bool) ([]string, int) {
	if len(words) == 0 {
		return nil, 0
	}
	first := words[0]
	if _, ok := byName[first]; ok {
		return []string{first}, 1
	}
	if !groups[first] || len(words) < 2 {
		return nil, 0
	}
	var names []string
	for _, sub := range strings.Split(words[1], "|") {
		if _, ok := byName[first+" "+sub]; !ok {
			return nil, 0
		}
		names = append(names, first+" "+sub)
	}
	return names, 2
}

// codeOf returns the code of a Markdown text: each line of its code blocks
// (lines continued with \ joined, # comments cut) and each inline code
// span (its line breaks made spaces).
func codeOf(text string) []string {
	var code []string
	var prose strings.Builder
	in := false
	cont := ""
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			in = !in
			continue
		}
		if !in {
			prose.WriteString(line + "\n")
			continue
		}
		line = cont + line
		if s, ok := strings.CutSuffix(line, "\\"); ok {
			cont = s + " "
			continue
		}
		cont = ""
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		code = append(code, line)
	}
	for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(prose.String(), -1) {
		code = append(code, strings.ReplaceAll(m[1], "\n", " "))
	}
	return code
}

// TestREADME_CommandVariables: the README's table of what each command
// reads says what the command's help lists. Its cells are read as: "the
// database" (DATABASE_URL, DB_*, KURA_DB_ALLOW_INSECURE), "the log"
// (KURA_LOG_*), variables and patterns in backquotes (KURA_JOB_*),
// "every variable above" (the README's table of variables) and "every
// variable `serve` reads", less the variables after "but".
func TestREADME_CommandVariables(t *testing.T) {
	readme := readDoc(t, "README.md")
	_, table, ok := strings.Cut(readme, "| command | reads |\n| --- | --- |\n")
	if !ok {
		t.Fatal("README.md has no table of what each command reads")
	}
	table, _, _ = strings.Cut(table, "\n\n")
	all := leaves(t)
	listed := map[string]bool{}
	for _, row := range strings.Split(table, "\n") {
		cells := strings.Split(strings.Trim(row, "| "), " | ")
		if len(cells) != 2 {
			t.Fatalf("README row %q: want two cells", row)
		}
		want := readsCell(t, cells[1], all)
		for _, cmd := range regexp.MustCompile("`([a-z][a-z …-]*)`").FindAllStringSubmatch(cells[0], -1) {
			prefix := strings.TrimSpace(strings.TrimSuffix(cmd[1], "…"))
			matched := false
			for _, l := range all {
				if l.name() != prefix && !strings.HasPrefix(l.name(), prefix+" ") {
					continue
				}
				matched, listed[l.name()] = true, true
				got := slices.Sorted(slices.Values(l.variables()))
				if !slices.Equal(got, want) {
					t.Errorf("README says kura %s reads %v\nits help lists %v", l.name(), want, got)
				}
			}
			if !matched {
				t.Errorf("README's table names %q, which is no command", cmd[1])
			}
		}
	}
	for _, l := range all {
		if len(l.variables()) > 0 && !listed[l.name()] {
			t.Errorf("kura %s reads %v; the README's table does not say it", l.name(), l.variables())
		}
	}
}

// readsCell returns the variables a cell of the README's table of what
// commands read stands for, sorted.
func readsCell(t *testing.T, cell string, all []leaf) []string {
	t.Helper()
	base, but, _ := strings.Cut(cell, " but ")
	set := map[string]bool{}
	add := func(v variable) { set[v.name] = true }
	group := func(g envGroup) {
		for _, v := range variables {
			if v.group&g != 0 {
				add(v)
			}
		}
	}
	names := regexp.MustCompile("`([A-Z][A-Z0-9_*]*)`")
	switch {
	case strings.Contains(base, "every variable above"):
		for _, v := range variables {
			add(v)
		}
	case strings.Contains(base, "every variable `serve` reads"):
		for _, l := range all {
			if l.name() == "serve" {
				for _, name := range l.variables() {
					set[name] = true
				}
			}
		}
	default:
		if strings.Contains(base, "the database") {
			group(envDB)
		}
		if strings.Contains(base, "the log") {
			group(envLog)
		}
		for _, m := range names.FindAllStringSubmatch(base, -1) {
			matchVariables(t, m[1], func(v variable) { set[v.name] = true })
		}
	}
	if but != "" {
		for _, m := range names.FindAllStringSubmatch(but, -1) {
			matchVariables(t, m[1], func(v variable) { delete(set, v.name) })
		}
	}
	var out []string
	for name := range set {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// matchVariables calls fn with each variable the name or pattern (with *)
// matches; a name that matches none fails the test.
func matchVariables(t *testing.T, pattern string, fn func(variable)) {
	t.Helper()
	re := regexp.MustCompile("^" + strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, "[A-Z0-9_]*") + "$")
	n := 0
	for _, v := range variables {
		if re.MatchString(v.name) {
			fn(v)
			n++
		}
	}
	if n == 0 {
		t.Errorf("README's table of what commands read names %s, which is no variable", pattern)
	}
}
