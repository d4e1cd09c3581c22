package metrics_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kura-dev/kura/internal/testenv"
)

// deploy is where the Prometheus rules and the Grafana dashboard live.
const deploy = "../deploy"

// futureMetrics are named by the rules before kura exports them.
var futureMetrics = map[string]bool{}

// runPromtool runs promtool with args in deploy/prometheus and fails the
// test with its output unless it succeeds.
func runPromtool(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(testenv.Tool(t, "promtool", "prometheus"), args...)
	cmd.Dir = filepath.Join(deploy, "prometheus")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestPromtool_CheckRules(t *testing.T) { runPromtool(t, "check", "rules", "kura-rules.yml") }

func TestPromtool_TestRules(t *testing.T) { runPromtool(t, "test", "rules", "kura-rules.test.yml") }

func TestPromtool_CheckConfig(t *testing.T) { runPromtool(t, "check", "config", "prometheus.yml") }

// kuraName finds kura's metric names in a query or a document.
var kuraName = regexp.MustCompile(`\bkura_[a-z_]+[a-z]\b`)

// exported returns the names of the families a real scrape has after
// traffic, with the series names of histograms (_bucket, _count, _sum).
func exported(t *testing.T) map[string]bool {
	t.Helper()
	s := newStack(t)
	s.traffic(t)
	body, _ := scrape(t, s.m.Handler(), "")
	names := map[string]bool{}
	for name, f := range families(t, body) {
		names[name] = true
		if f.GetType().String() == "HISTOGRAM" {
			for _, suffix := range []string{"_bucket", "_count", "_sum"} {
				names[name+suffix] = true
			}
		}
	}
	return names
}

// TestDeploy_NamesExported checks that the alert rules and the dashboard
// query only metrics kura exports, and that docs/OPERATIONS.md documents
// every kura metric a scrape has.
func TestDeploy_NamesExported(t *testing.T) {
	names := exported(t)
	for _, file := range []string{"prometheus/kura-rules.yml", "grafana/kura.json"} {
		b, err := os.ReadFile(filepath.Join(deploy, file))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range kuraName.FindAllString(string(b), -1) {
			if !names[n] && !futureMetrics[n] {
				t.Errorf("%s queries %s, which kura does not export", file, n)
			}
		}
	}
	doc, err := os.ReadFile("../docs/OPERATIONS.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, n := range kuraName.FindAllString(string(doc), -1) {
		documented[n] = true
	}
	for n := range names {
		if strings.HasPrefix(n, "kura_") && !documented[n] && !documented[strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_count"), "_sum")] {
			t.Errorf("docs/OPERATIONS.md does not document %s", n)
		}
	}
}

// TestGrafana_Dashboard checks that deploy/grafana/kura.json is a
// dashboard Grafana can import: valid JSON, a title and uid, panels with
// unique ids, a place on the grid and a query each (rows aside).
func TestGrafana_Dashboard(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(deploy, "grafana", "kura.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title, UID    string
		SchemaVersion int
		Panels        []struct {
			ID      int
			Type    string
			Title   string
			GridPos *struct{ H, W, X, Y int }
			Targets []struct{ Expr string }
		}
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("kura.json is not valid JSON: %v", err)
	}
	if d.Title == "" || d.UID == "" || d.SchemaVersion == 0 || len(d.Panels) == 0 {
		t.Fatalf("kura.json: title %q uid %q schema %d, %d panels", d.Title, d.UID, d.SchemaVersion, len(d.Panels))
	}
	ids := map[int]bool{}
	var exprs []string
	for _, p := range d.Panels {
		if ids[p.ID] || p.GridPos == nil || p.GridPos.W == 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: id %d repeated, or no place on the 24-column grid", p.Title, p.ID)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	// promtool parses each query as a recording rule's, with Grafana's
	// variables given values.
	vars := strings.NewReplacer("$__rate_interval", "5m", "$job", ".*", "$instance", ".*")
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, e := range exprs {
		q, _ := json.Marshal(vars.Replace(e)) // a JSON string is a YAML string
		fmt.Fprintf(&rules, "      - record: dashboard:query_%d\n        expr: %s\n", i, q)
	}
	file := filepath.Join(t.TempDir(), "dashboard-queries.yml")
	if err := os.WriteFile(file, []byte(rules.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(testenv.Tool(t, "promtool", "prometheus"), "check", "rules", file)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the dashboard's queries do not parse: %v\n%s", err, out)
	}
}
