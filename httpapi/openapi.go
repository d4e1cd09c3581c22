package httpapi

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
)

// OpenAPIPath is where the server answers its OpenAPI description.
const OpenAPIPath = "/openapi.json"

// openAPIJSON is the OpenAPI 3.1 description of every route httpapi
// registers: the one source of truth a frontend generates a client from,
// held to the server by tests (every route described, every described
// route served, every response the tests receive valid against it).
//
//go:embed openapi.json
var openAPIJSON []byte

// OpenAPI returns kura's own OpenAPI 3.1 description, in JSON: every route
// httpapi can register, those of optional Config parts included. A Server
// serves it, merged with its application's (AddOpenAPI) and less the routes
// it does not serve, at GET /openapi.json.
func OpenAPI() []byte { return slices.Clone(openAPIJSON) }

// openAPIDoc is a parsed description, as generic JSON.
type openAPIDoc = map[string]any

// httpMethods are the methods an OpenAPI path item may describe.
var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// AddOpenAPI merges doc, an application's OpenAPI 3.1 description of the
// routes it adds with Handle and HandleAuth, into what GET /openapi.json
// answers: its paths, its components and its tags (its info and servers
// are kura's). Its $refs may name kura's components, such as
// #/components/schemas/Error, #/components/responses/Unauthorized or
// #/components/parameters/Limit. It is an error for doc to describe an
// operation already described, or a component of the same name that
// differs. Call it before Open; OpenAPICoverage tells a test whether every
// route is described.
func (s *Server) AddOpenAPI(doc []byte) error {
	var add openAPIDoc
	if err := json.Unmarshal(doc, &add); err != nil {
		return fmt.Errorf("AddOpenAPI: %w", err)
	}
	paths, _ := add["paths"].(map[string]any)
	if len(paths) == 0 {
		return errors.New("AddOpenAPI: the description has no paths")
	}
	merged := cloneDoc(s.openapi)
	var errs []error
	errs = append(errs, mergePaths(merged, paths)...)
	comps, _ := add["components"].(map[string]any)
	errs = append(errs, mergeComponents(merged, comps)...)
	mergeTags(merged, add["tags"])
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("AddOpenAPI: %w", err)
	}
	s.openapi = merged
	return nil
}

// mergePaths adds the operations of paths to doc's, reporting each one
// that doc describes already.
func mergePaths(doc openAPIDoc, paths map[string]any) []error {
	var errs []error
	have := doc["paths"].(map[string]any)
	for p, item := range paths {
		add, _ := item.(map[string]any)
		cur, _ := have[p].(map[string]any)
		if cur == nil {
			have[p] = add
			continue
		}
		for k, v := range add {
			if _, dup := cur[k]; dup && slices.Contains(httpMethods, k) {
				errs = append(errs, fmt.Errorf("%s %s is described already", strings.ToUpper(k), p))
				continue
			}
			cur[k] = v
		}
	}
	return errs
}

// mergeComponents adds comps to doc's components, reporting each name
// taken by a different component.
func mergeComponents(doc openAPIDoc, comps map[string]any) []error {
	var errs []error
	have, _ := doc["components"].(map[string]any)
	for section, v := range comps {
		add, _ := v.(map[string]any)
		cur, _ := have[section].(map[string]any)
		if cur == nil {
			cur = map[string]any{}
			have[section] = cur
		}
		for name, c := range add {
			if old, ok := cur[name]; ok && !reflect.DeepEqual(old, c) {
				errs = append(errs, fmt.Errorf("components.%s.%s is kura's already", section, name))
				continue
			}
			cur[name] = c
		}
	}
	return errs
}

// mergeTags appends the tags of add that doc lacks, by name.
func mergeTags(doc openAPIDoc, add any) {
	tags, _ := doc["tags"].([]any)
	for _, t := range asSlice(add) {
		name := tagName(t)
		if !slices.ContainsFunc(tags, func(x any) bool { return tagName(x) == name }) {
			tags = append(tags, t)
		}
	}
	doc["tags"] = tags
}

func tagName(t any) string {
	m, _ := t.(map[string]any)
	name, _ := m["name"].(string)
	return name
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

// cloneDoc returns a deep copy of doc.
func cloneDoc(doc openAPIDoc) openAPIDoc {
	b, err := json.Marshal(doc)
	if err != nil {
		panic("httpapi: the OpenAPI description does not encode: " + err.Error())
	}
	return mustParseDoc(b)
}

func mustParseDoc(b []byte) openAPIDoc {
	var doc openAPIDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		panic("httpapi: the OpenAPI description does not parse: " + err.Error())
	}
	return doc
}

// operations returns the operations doc describes, as "METHOD /path".
func operations(doc openAPIDoc) []string {
	var ops []string
	for p, item := range doc["paths"].(map[string]any) {
		m, _ := item.(map[string]any)
		for k := range m {
			if slices.Contains(httpMethods, k) {
				ops = append(ops, strings.ToUpper(k)+" "+p)
			}
		}
	}
	slices.Sort(ops)
	return ops
}

// operationOf returns the operation a route pattern serves, as the
// description names it: "GET /{$}" is "GET /", a wildcard {name...} is
// {name}.
func operationOf(pattern string) string {
	method, path, _ := strings.Cut(pattern, " ")
	path = strings.ReplaceAll(path, "...}", "}")
	if p, ok := strings.CutSuffix(path, "{$}"); ok {
		path = p
	}
	return method + " " + path
}

// Routes returns the patterns of the routes the server has, as given to
// Handle, HandleAuth or registered by kura ("GET /api/users/{id}"), in
// the order they were added. The catch-all that answers 404 and 405 is not
// one.
func (s *Server) Routes() []string { return slices.Clone(s.patterns) }

// OpenAPICoverage compares the server's routes with its description:
// undescribed are the routes (patterns) no operation describes, unserved
// the described operations ("METHOD /path") no route serves, but for
// kura's own optional routes whose Config part is not set (Stats,
// Notifications, Index). Both are empty when the description holds to
// the server; a test of an application asserts that they are.
func (s *Server) OpenAPICoverage() (undescribed, unserved []string) {
	described := operations(s.openapi)
	served := map[string]bool{}
	for _, p := range s.patterns {
		op := operationOf(p)
		served[op] = true
		if !slices.Contains(described, op) {
			undescribed = append(undescribed, p)
		}
	}
	for _, op := range described {
		if !served[op] && !slices.Contains(s.omitted, op) {
			unserved = append(unserved, op)
		}
	}
	return undescribed, unserved
}

// OpenAPIDocument returns what GET /openapi.json answers: kura's
// description merged with the application's, less the operations no
// route of this server serves.
func (s *Server) OpenAPIDocument() []byte {
	doc := cloneDoc(s.openapi)
	served := map[string]bool{}
	for _, p := range s.patterns {
		served[operationOf(p)] = true
	}
	paths := doc["paths"].(map[string]any)
	for p, item := range paths {
		m, _ := item.(map[string]any)
		for k := range m {
			if slices.Contains(httpMethods, k) && !served[strings.ToUpper(k)+" "+p] {
				delete(m, k)
			}
		}
		if !slices.ContainsFunc(httpMethods, func(k string) bool { _, ok := m[k]; return ok }) {
			delete(paths, p)
		}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic("httpapi: the OpenAPI description does not encode: " + err.Error())
	}
	return append(b, '\n')
}

// handleOpenAPI serves GET /openapi.json: the description, computed on the
// first request (every route is added before Open) and kept.
func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	s.openapiOnce.Do(func() { s.openapiBody = s.OpenAPIDocument() })
	w.Header()["Cache-Control"] = noCache
	writeBody(w, http.StatusOK, s.openapiBody)
}
