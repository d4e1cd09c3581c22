package main

import (
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kura-dev/kura/doctor"
	"github.com/kura-dev/kura/password"
)

// The tests of this file hold what README.md and docs/ say of the
// repository to the code: the Go version, the version line, the import
// graph, the files of deploy/, parameters and defaults quoted in prose,
// doctor's checks and the alerts.

// TestREADME_GoVersion: the Go version the README asks for is go.mod's.
func TestREADME_GoVersion(t *testing.T) {
	mod := readDoc(t, "go.mod")
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindStringSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	readme := readDoc(t, "README.md")
	got := regexp.MustCompile(`\(Go (\S+) or later\)`).FindStringSubmatch(readme)
	if got == nil || got[1] != m[1] {
		t.Errorf("README asks for Go %v; go.mod's go directive is %s", got, m[1])
	}
}

// TestREADME_Version: the README's example of kura version is what the
// command prints for a build of the Makefile, whose commit is all of its
// hash (git rev-parse HEAD) and whose build date is in UTC to the second.
func TestREADME_Version(t *testing.T) {
	readme := readDoc(t, "README.md")
	m := regexp.MustCompile(`(?m)^kura version +# (kura .*)$`).FindStringSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no example of kura version's output")
	}
	parts := regexp.MustCompile(`^kura (v\S+) \(commit ([0-9a-f]{40}), built (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ), (go\S+)\)$`).FindStringSubmatch(m[1])
	if parts == nil {
		t.Fatalf("README's kura version line %q: want kura vX.Y.Z (commit <40 hex digits>, built <RFC 3339 UTC>, goX.Y.Z)", m[1])
	}
	if got := versionLine(parts[1], parts[2], parts[3], parts[4]); got != m[1] {
		t.Errorf("README shows %q; kura version prints %q", m[1], got)
	}
	makefile := readDoc(t, "Makefile")
	for _, want := range []string{"COMMIT     ?= $(shell git rev-parse HEAD ", "BUILD_DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)"} {
		if !strings.Contains(makefile, want) {
			t.Errorf("the Makefile lacks %q, which README's example of kura version shows", want)
		}
	}
}

// modulePackages returns the imports of the non-test files of every
// package of the module, by path relative to the module ("" for the
// root).
func modulePackages(t *testing.T) map[string][]string {
	t.Helper()
	const module = "github.com/kura-dev/kura"
	pkgs := map[string][]string{}
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		name := d.Name()
		if path != "../.." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "dist") {
			return filepath.SkipDir
		}
		p, err := build.ImportDir(path, 0)
		if _, none := err.(*build.NoGoError); none {
			return nil
		}
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("../..", path)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			rel = ""
		}
		var imps []string
		for _, imp := range p.Imports {
			if imp == module {
				imps = append(imps, "")
			} else if r, ok := strings.CutPrefix(imp, module+"/"); ok {
				imps = append(imps, r)
			} else {
				imps = append(imps, imp)
			}
		}
		pkgs[rel] = imps
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

// TestDocs_ArchitectureImports: docs/ARCHITECTURE.md's table of who imports
// whom is the module's import graph (tests, benchmarks and the test
// helpers aside; examples/notes and its command count as one), the root
// imports only the standard library, and only metrics imports Prometheus.
func TestDocs_ArchitectureImports(t *testing.T) {
	pkgs := modulePackages(t)
	helper := func(p string) bool {
		return strings.HasPrefix(p, "bench/") || slices.Contains([]string{"internal/testenv", "internal/dbtest", "ratelimit/ratelimittest"}, p)
	}
	node := func(p string) string {
		switch {
		case p == "":
			return "kura (root)"
		case strings.HasPrefix(p, "examples/notes/"):
			return "examples/notes"
		}
		return p
	}
	importedBy := map[string]map[string]bool{}
	for p, imps := range pkgs {
		if helper(p) {
			continue
		}
		for _, imp := range imps {
			if _, ours := pkgs[imp]; !ours || node(imp) == node(p) {
				continue
			}
			if importedBy[node(imp)] == nil {
				importedBy[node(imp)] = map[string]bool{}
			}
			importedBy[node(imp)][node(p)] = true
		}
		for _, imp := range imps {
			if strings.HasPrefix(imp, "github.com/prometheus/") && p != "metrics" {
				t.Errorf("%s imports %s: only metrics may", node(p), imp)
			}
			if p == "" && strings.Contains(strings.Split(imp, "/")[0], ".") {
				t.Errorf("the root package imports %s: it imports only the standard library", imp)
			}
		}
		if p == "" {
			for _, imp := range imps {
				if _, ours := pkgs[imp]; ours {
					t.Errorf("the root package imports %s: it imports only the standard library", node(imp))
				}
			}
		}
	}

	arch := readDoc(t, "docs/ARCHITECTURE.md")
	_, table, ok := strings.Cut(arch, "```\npackage ")
	if !ok {
		t.Fatal("docs/ARCHITECTURE.md has no table of who imports whom")
	}
	table, _, _ = strings.Cut(table, "```")
	documented := map[string]bool{}
	for _, line := range strings.Split(table, "\n")[1:] {
		if strings.TrimSpace(line) == "" {
			continue
		}
		pkg, rest := "kura (root)", ""
		if r, ok := strings.CutPrefix(line, "kura (root)"); ok {
			rest = r
		} else {
			f := strings.Fields(line)
			pkg, rest = f[0], strings.TrimPrefix(line, f[0])
		}
		rest, _, _ = strings.Cut(rest, ";")
		rest = regexp.MustCompile(`\([^)]*\)`).ReplaceAllString(rest, "")
		var got []string
		for _, p := range strings.Split(rest, ",") {
			if p = strings.TrimSpace(p); p != "" {
				got = append(got, p)
			}
		}
		documented[pkg] = true
		var want []string
		for p := range importedBy[pkg] {
			want = append(want, p)
		}
		if g, w := slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want)); !slices.Equal(g, w) {
			t.Errorf("ARCHITECTURE.md: %s is imported by %v; the code's imports say %v", pkg, g, w)
		}
	}
	for pkg, by := range importedBy {
		if !documented[pkg] {
			t.Errorf("ARCHITECTURE.md's table lacks %s, imported by %v", pkg, slices.Sorted(func(yield func(string) bool) {
				for p := range by {
					if !yield(p) {
						return
					}
				}
			}))
		}
	}
}

// TestDocs_DeployFiles: DEPLOY.md's table of deploy/'s files lists each
// one (tests aside), every deploy/ path the docs name exists (but
// deploy/.env, which the operator makes), and the docs count the systemd
// units there are.
func TestDocs_DeployFiles(t *testing.T) {
	entries, err := os.ReadDir("../../deploy")
	if err != nil {
		t.Fatal(err)
	}
	var have []string
	units := 0
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, "_test.go"):
			continue
		case e.IsDir():
			name += "/"
		case strings.HasSuffix(name, ".service"):
			units++
		}
		have = append(have, name)
	}
	deploy := readDoc(t, "docs/DEPLOY.md")
	_, table, ok := strings.Cut(deploy, "| file | what it is |")
	if !ok {
		t.Fatal("docs/DEPLOY.md has no table of deploy/'s files")
	}
	table, _, _ = strings.Cut(table, "\n\n")
	var listed []string
	for _, row := range strings.Split(table, "\n")[2:] {
		first := strings.Split(row, " | ")[0]
		for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(first, -1) {
			listed = append(listed, m[1])
		}
	}
	if l, h := slices.Sorted(slices.Values(listed)), slices.Sorted(slices.Values(have)); !slices.Equal(l, h) {
		t.Errorf("DEPLOY.md lists %v; deploy/ holds %v", l, h)
	}
	pathRE := regexp.MustCompile(`deploy/[A-Za-z0-9_./-]*[A-Za-z0-9_/]`)
	plural := regexp.MustCompile(`(?i)systemd units`)
	for _, file := range docFiles {
		text := strings.ReplaceAll(readDoc(t, file), "\n", " ")
		for _, p := range pathRE.FindAllString(text, -1) {
			if p == "deploy/.env" {
				continue
			}
			if _, err := os.Stat("../../" + p); err != nil {
				t.Errorf("%s names %s, which does not exist", file, p)
			}
		}
		if units == 1 && plural.MatchString(text) {
			t.Errorf("%s speaks of %q; deploy/ holds one unit", file, plural.FindString(text))
		}
	}
}

// TestDocs_Argon2Parameters: wherever the docs give argon2id's memory,
// passes or lanes, they are the password package's.
func TestDocs_Argon2Parameters(t *testing.T) {
	mib := strconv.Itoa(password.Memory / 1024)
	want := map[*regexp.Regexp]string{
		regexp.MustCompile(`^[^.]{0,60}?(\d+) MiB`):            mib,
		regexp.MustCompile(`^[^.]{0,60}?\bm=(\d+) MiB`):        mib,
		regexp.MustCompile(`^[^.]{0,60}?\bt=(\d+)`):            strconv.Itoa(password.Time),
		regexp.MustCompile(`^[^.]{0,60}?\bp=(\d+)`):            strconv.Itoa(password.Threads),
		regexp.MustCompile(`^[^.]{0,60}?\b(\d+) passes`):       strconv.Itoa(password.Time),
		regexp.MustCompile(`^[^.]{0,60}?\b(\d+) lanes?\b`):     strconv.Itoa(password.Threads),
		regexp.MustCompile(`^[^.]{0,60}?\b(\d+) KiB`):          strconv.Itoa(password.Memory),
		regexp.MustCompile(`^[^.]{0,60}?\b(\d+(?:\.\d+)?) MB`): "", // bytes measured, not a parameter
	}
	found := 0
	for _, file := range docFiles {
		text := strings.ReplaceAll(readDoc(t, file), "\n", " ")
		for i := strings.Index(text, "argon2id"); i >= 0; {
			after := text[i+len("argon2id"):]
			for re, w := range want {
				if m := re.FindStringSubmatch(after); m != nil && w != "" {
					found++
					if m[1] != w {
						t.Errorf("%s: %q gives %s where the password package has %s", file, "argon2id"+after[:min(len(after), 70)], m[1], w)
					}
				}
			}
			j := strings.Index(after, "argon2id")
			if j < 0 {
				break
			}
			i += len("argon2id") + j
		}
	}
	if found < 3 {
		t.Fatalf("only %d figures of argon2id found in the docs: the scan is broken", found)
	}
	t.Logf("%d figures of argon2id checked", found)
}

// TestDocs_DefaultsInProse: a default the docs quote beside a variable's
// name ("KURA_SHUTDOWN_TIMEOUT (15 s)", "KURA_WORKERS, default 10") is
// the code's.
func TestDocs_DefaultsInProse(t *testing.T) {
	re := regexp.MustCompile("`([A-Z][A-Z0-9_]+)`(?: \\((?:default )?|, default )`?([0-9][0-9.]*(?: ?[smh]\\b)?|[./a-z0-9:]+)`?([);,]|$| [a-z])")
	found := 0
	for _, file := range docFiles {
		text := strings.ReplaceAll(readDoc(t, file), "\n", " ")
		for _, m := range re.FindAllStringSubmatch(text, -1) {
			v, ok := lookupVariable(m[1])
			value := strings.ReplaceAll(m[2], " ", "")
			if !ok || (m[3] != ")" && m[3] != ";" && m[3] != ",") {
				continue // not a variable, or the value is a phrase ("16 characters or more")
			}
			found++
			if !sameDefault(v, value) {
				t.Errorf("%s: %q: the default of %s is %q", file, m[0], v.name, v.defaultText())
			}
		}
	}
	if found < 8 {
		t.Fatalf("only %d defaults found in the docs' prose: the scan is broken", found)
	}
	t.Logf("%d defaults quoted in prose checked", found)
}

// TestREADME_BoundFlags: the flags that stand for a variable are those the
// README's table of variables names beside it.
func TestREADME_BoundFlags(t *testing.T) {
	readme := readDoc(t, "README.md")
	_, table, _ := strings.Cut(readme, "| variable | default | meaning |")
	table, _, _ = strings.Cut(table, "\n\n")
	rows := map[string]string{}
	for _, row := range strings.Split(table, "\n")[2:] {
		first := strings.Split(row, " | ")[0]
		for _, m := range regexp.MustCompile("`([A-Z][A-Z0-9_]+)`").FindAllStringSubmatch(first, -1) {
			rows[m[1]] = first
		}
	}
	bound := map[string]map[string]bool{} // variable → flags
	flagRE := regexp.MustCompile(`(?m)^  -([a-z-]+) \S+\n\s+.*\(([A-Z][A-Z0-9_]+), default `)
	boolRE := regexp.MustCompile(`(?m)^  -([a-z-]+)\n\s+.*\(([A-Z][A-Z0-9_]+), default `)
	for _, l := range leaves(t) {
		for _, re := range []*regexp.Regexp{flagRE, boolRE} {
			for _, m := range re.FindAllStringSubmatch(section(l.usage, "Flags:"), -1) {
				if bound[m[2]] == nil {
					bound[m[2]] = map[string]bool{}
				}
				bound[m[2]][m[1]] = true
			}
		}
	}
	if len(bound) < 3 {
		t.Fatalf("only %d variables with a flag found in the help: the scan is broken", len(bound))
	}
	for name, flags := range bound {
		for f := range flags {
			if !strings.Contains(rows[name], "--"+f) {
				t.Errorf("--%s stands for %s; the README's table does not say it: %q", f, name, rows[name])
			}
		}
	}
	for name, row := range rows {
		for _, m := range regexp.MustCompile(`--([a-z-]+)`).FindAllStringSubmatch(row, -1) {
			if !bound[name][m[1]] {
				t.Errorf("the README's table says --%s stands for %s; no command's help says so", m[1], name)
			}
		}
	}
}

// TestDocs_SecurityDoctorChecks: SECURITY.md's table of doctor's checks lists
// every check kura doctor runs, in its order.
func TestDocs_SecurityDoctorChecks(t *testing.T) {
	env := []string{"DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "kura.db")}
	out, _, _ := runKura(t, env, "", "doctor", "--json")
	var ran []string
	for _, m := range regexp.MustCompile(`"check": "([a-z-]+)"`).FindAllStringSubmatch(out, -1) {
		ran = append(ran, m[1])
	}
	if len(ran) < 5 {
		t.Fatalf("kura doctor --json: %q", out)
	}
	sec := readDoc(t, "docs/SECURITY.md")
	_, table, ok := strings.Cut(sec, "| check | ok when | otherwise |")
	if !ok {
		t.Fatal("SECURITY.md has no table of doctor's checks")
	}
	table, _, _ = strings.Cut(table, "\n\n")
	var documented []string
	for _, row := range strings.Split(table, "\n")[2:] {
		if m := regexp.MustCompile("^\\| `([a-z-]+)` \\|").FindStringSubmatch(row); m != nil {
			documented = append(documented, m[1])
		}
	}
	if !slices.Equal(documented, ran) {
		t.Errorf("SECURITY.md lists the checks %v; kura doctor runs %v", documented, ran)
	}
}

// TestDocs_OperationsAlerts: OPERATIONS.md's table of alerts lists the rules
// of deploy/prometheus/kura-rules.yml, in their order.
func TestDocs_OperationsAlerts(t *testing.T) {
	var rules []string
	for _, m := range regexp.MustCompile(`(?m)^\s+- alert: (\w+)$`).FindAllStringSubmatch(readDoc(t, "deploy/prometheus/kura-rules.yml"), -1) {
		rules = append(rules, m[1])
	}
	ops := readDoc(t, "docs/OPERATIONS.md")
	_, table, ok := strings.Cut(ops, "| alert | fires when |")
	if !ok {
		t.Fatal("OPERATIONS.md has no table of alerts")
	}
	table, _, _ = strings.Cut(table, "\n\n")
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `(\\w+)` \\|").FindAllStringSubmatch(table, -1) {
		documented = append(documented, m[1])
	}
	if len(rules) == 0 || !slices.Equal(documented, rules) {
		t.Errorf("OPERATIONS.md lists the alerts %v; the rules are %v", documented, rules)
	}
}

// wantSecurityExample checks r, the result of doctor's check called check,
// against SECURITY.md's example of its line (the block after "$ kura
// doctor"): "…" stands for any text, numbers and times for any, and each
// key of names (a role in the example) for its value in r.
func wantSecurityExample(t *testing.T, check string, r doctor.Result, names map[string]string) {
	t.Helper()
	sec := readDoc(t, "docs/SECURITY.md")
	_, block, ok := strings.Cut(sec, "$ kura doctor\n")
	if !ok {
		t.Fatal("SECURITY.md has no example of kura doctor's output")
	}
	block, _, _ = strings.Cut(block, "```")
	var example string
	for _, line := range strings.Split(block, "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[1] == check {
			example = line
		}
	}
	if example == "" {
		t.Fatalf("SECURITY.md's example of kura doctor has no %s line", check)
	}
	pattern := regexp.QuoteMeta(example)
	for from, to := range names {
		pattern = strings.ReplaceAll(pattern, regexp.QuoteMeta(from), regexp.QuoteMeta(to))
	}
	for _, r := range []struct{ from, to string }{
		{`\(…\)`, `\(.*\)`}, {`…`, `.*`}, {`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`, `\S+`}, {` +`, `\s+`},
	} {
		pattern = regexp.MustCompile(r.from).ReplaceAllString(pattern, r.to)
	}
	pattern = regexp.MustCompile(`\b\d+\b`).ReplaceAllString(pattern, `\d+`)
	line := statusMarks[r.Status] + " " + check + " " + r.Message
	if r.Fix != "" {
		line += " — fix: " + r.Fix
	}
	if !regexp.MustCompile("^" + pattern + "$").MatchString(line) {
		t.Errorf("SECURITY.md's example of doctor's %s check:\n%s\ndoctor says:\n%s", check, example, line)
	}
}

// TestDocs_SecurityDoctorExample: the lines of SECURITY.md's example of
// kura doctor that need no server are what doctor says in their state
// (database-role and backups are checked where that state is made:
// TestDoctor_DatabaseRole, TestBackup_LeastPrivilege).
func TestDocs_SecurityDoctorExample(t *testing.T) {
	ctx := t.Context()
	e := doctorEnvFor(t, "", "DATABASE_URL=postgres://kura:a-secret-pw@127.0.0.1:1/kura") // nothing listens there
	wantSecurityExample(t, "secrets", checkSecrets(ctx, e), nil)
	wantSecurityExample(t, "env-file", checkEnvFile(ctx, e), nil)
	cfg, err := loadConfig(configSource{environ: []string{"DATABASE_URL=postgres://kura@db.internal:5432/kura?sslmode=verify-full"}})
	if err != nil {
		t.Fatal(err)
	}
	wantSecurityExample(t, "database-tls", checkDatabaseTLS(ctx, newDoctorEnv(cfg)), nil)
}
