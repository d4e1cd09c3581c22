package httpapi_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/kura-dev/kura/httpapi"
)

var updateAPIDoc = flag.Bool("update-api-doc", false, "rewrite docs/API.md from httpapi/openapi.json")

// apiRefPath is the API reference, generated from the description.
const apiRefPath = "../docs/API.md"

// TestAPIReference: docs/API.md is the reference generated from
// httpapi/openapi.json, up to date. After changing the description:
//
//	go test ./httpapi -run TestAPIReference -update-api-doc
func TestAPIReference(t *testing.T) {
	var doc apiDoc
	if err := json.Unmarshal(httpapi.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	got := doc.markdown()
	if *updateAPIDoc {
		if err := os.WriteFile(apiRefPath, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(apiRefPath)
	if err != nil || string(want) != got {
		t.Fatalf("docs/API.md is not the reference of httpapi/openapi.json (%v): run go test ./httpapi -run TestAPIReference -update-api-doc", err)
	}
}

// apiDoc is the part of an OpenAPI document the reference shows.
type apiDoc struct {
	Info struct {
		Title, Description string
	}
	Tags []struct {
		Name, Description string
	}
	Paths      map[string]map[string]json.RawMessage
	Components struct {
		Schemas    map[string]schema
		Parameters map[string]param
		Responses  map[string]struct{ Description string }
	}
}

type operation struct {
	Summary, Description string
	Tags                 []string
	Security             []map[string][]string
	Parameters           []param
	RequestBody          *struct {
		Content map[string]struct {
			Schema  schema
			Example any
		}
	}
	Responses map[string]struct {
		Ref         string `json:"$ref"`
		Description string
		Content     map[string]struct{ Schema schema }
	}
}

type param struct {
	Ref                   string `json:"$ref"`
	Name, In, Description string
	Required              bool
	Schema                schema
}

type schema struct {
	Ref         string `json:"$ref"`
	Type        any
	Description string
	Format      string
	Enum        []string
	Required    []string
	Properties  map[string]schema
	Items       *schema
	OneOf       []schema
}

// name returns how the reference writes s's type.
func (s schema) name() string {
	switch {
	case s.Ref != "":
		n := s.Ref[strings.LastIndexByte(s.Ref, '/')+1:]
		return "[" + n + "](#" + strings.ToLower(n) + ")"
	case len(s.OneOf) > 0:
		var alts []string
		for _, o := range s.OneOf {
			alts = append(alts, o.name())
		}
		return strings.Join(alts, " or ")
	case s.Items != nil:
		return "array of " + s.Items.name()
	}
	t := fmt.Sprint(s.Type)
	if ts, ok := s.Type.([]any); ok {
		t = fmt.Sprint(ts[0]) + " or " + fmt.Sprint(ts[1])
	}
	if s.Format != "" {
		t += " (" + s.Format + ")"
	}
	if len(s.Enum) > 0 {
		t += ": `" + strings.Join(s.Enum, "`, `") + "`"
	}
	return t
}

func (d *apiDoc) markdown() string {
	var b strings.Builder
	b.WriteString("<!-- Generated from httpapi/openapi.json by TestAPIReference (go test ./httpapi -run TestAPIReference -update-api-doc): edit the description, not this file. -->\n\n")
	fmt.Fprintf(&b, "# The %s API\n\nThe reference of what `kura serve` answers, generated from its OpenAPI 3.1 description, which the server answers at `GET /openapi.json`. An application's own routes are in its server's `/openapi.json`.\n\n%s\n", d.Info.Title, d.Info.Description)
	for _, tag := range d.Tags {
		fmt.Fprintf(&b, "## %s\n\n%s\n\n", tag.Name, tag.Description)
		for _, p := range sortedKeys(d.Paths) {
			for _, m := range []string{"get", "post", "patch", "delete"} {
				raw, ok := d.Paths[p][m]
				var op operation
				if !ok || json.Unmarshal(raw, &op) != nil || !slices.Contains(op.Tags, tag.Name) {
					continue
				}
				d.writeOperation(&b, strings.ToUpper(m), p, &op)
			}
		}
	}
	b.WriteString("## Schemas\n\n")
	for _, name := range sortedKeys(d.Components.Schemas) {
		s := d.Components.Schemas[name]
		fmt.Fprintf(&b, "### %s\n\n", name)
		if s.Description != "" {
			fmt.Fprintf(&b, "%s\n\n", strings.TrimSpace(s.Description))
		}
		if len(s.Properties) == 0 {
			fmt.Fprintf(&b, "Type: %s.\n\n", s.name())
			continue
		}
		b.WriteString("| field | type | required | about |\n| --- | --- | --- | --- |\n")
		for _, f := range sortedKeys(s.Properties) {
			fs := s.Properties[f]
			req := map[bool]string{true: "yes", false: ""}[slices.Contains(s.Required, f)]
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", f, fs.name(), req, oneLine(fs.Description))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func (d *apiDoc) writeOperation(b *strings.Builder, method, path string, op *operation) {
	fmt.Fprintf(b, "### %s %s\n\n%s.", method, path, op.Summary)
	if op.Security != nil && len(op.Security) == 0 || len(op.Security) == 1 && len(op.Security[0]) == 0 {
		b.WriteString(" For anyone.\n\n")
	} else if len(op.Security) > 1 {
		b.WriteString(" For anyone; a bearer token shows more.\n\n")
	} else {
		b.WriteString(" Needs a bearer token.\n\n")
	}
	if op.Description != "" {
		fmt.Fprintf(b, "%s\n\n", strings.TrimSpace(op.Description))
	}
	var params []param
	for _, pr := range op.Parameters {
		if pr.Ref != "" {
			pr = d.Components.Parameters[pr.Ref[strings.LastIndexByte(pr.Ref, '/')+1:]]
		}
		params = append(params, pr)
	}
	if len(params) > 0 {
		b.WriteString("| parameter | in | type | about |\n| --- | --- | --- | --- |\n")
		for _, pr := range params {
			fmt.Fprintf(b, "| `%s` | %s | %s | %s |\n", pr.Name, pr.In, pr.Schema.name(), oneLine(pr.Description))
		}
		b.WriteString("\n")
	}
	if op.RequestBody != nil {
		c := op.RequestBody.Content["application/json"]
		fmt.Fprintf(b, "Body: %s.", c.Schema.name())
		if c.Example != nil {
			ex, _ := json.Marshal(c.Example)
			fmt.Fprintf(b, " For example `%s`.", ex)
		}
		b.WriteString("\n\n")
	}
	b.WriteString("| status | answer |\n| --- | --- |\n")
	for _, code := range sortedKeys(op.Responses) {
		r := op.Responses[code]
		desc, body := r.Description, ""
		if r.Ref != "" {
			desc = d.Components.Responses[r.Ref[strings.LastIndexByte(r.Ref, '/')+1:]].Description
			body = " [Error](#error)"
		}
		if c, ok := r.Content["application/json"]; ok {
			body = " " + c.Schema.name()
		}
		fmt.Fprintf(b, "| %s | %s%s |\n", code, oneLine(desc), body)
	}
	b.WriteString("\n")
}

// oneLine joins the lines of a description, for a table cell.
func oneLine(s string) string {
	return strings.ReplaceAll(strings.Join(strings.Fields(s), " "), "|", "\\|")
}
