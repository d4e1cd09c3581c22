// Package openapitest holds the HTTP tests of kura and of its example
// application to the OpenAPI description the server answers: every
// response a test receives is checked against it (status described, body
// and described headers valid), by a Validator a test calls or by a
// RoundTripper that checks each response on its way to the test. It uses
// kin-openapi, and only tests import it: validation costs the server
// nothing.
package openapitest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// ErrUndescribed is the error of a successful response to a request that
// no operation of the description matches.
var ErrUndescribed = errors.New("no operation of the description matches the request")

// Validator checks responses against one description.
type Validator struct {
	doc    *openapi3.T
	router routers.Router
	errRef *openapi3.SchemaRef
}

var (
	mu    sync.Mutex
	cache = map[[32]byte]*Validator{} // by the description's digest
)

// New returns the Validator of doc, an OpenAPI 3.1 description in JSON,
// after checking that the description is valid. Validators are kept by
// content: tests that start many servers parse each description once.
func New(doc []byte) (*Validator, error) {
	key := sha256.Sum256(doc)
	mu.Lock()
	defer mu.Unlock()
	if v := cache[key]; v != nil {
		return v, nil
	}
	loader := openapi3.NewLoader()
	t, err := loader.LoadFromData(doc)
	if err != nil {
		return nil, fmt.Errorf("load the description: %w", err)
	}
	t.Servers = nil // match requests to any host: test servers listen on port 0
	r, err := legacy.NewRouter(t)
	if err != nil {
		return nil, fmt.Errorf("the description: %w", err)
	}
	errRef := t.Components.Schemas["Error"]
	if errRef == nil {
		return nil, errors.New("the description has no components.schemas.Error")
	}
	v := &Validator{doc: t, router: r, errRef: errRef}
	cache[key] = v
	return v, nil
}

// Check validates a response to req: its status must be described for
// the operation, its described headers valid, its body valid against the
// described content, and absent where none is described. A response to a
// request no operation matches must be an error in the Error shape (the
// 404 and 405 of paths and methods without a route), or a CORS preflight
// answered by the middleware; any other is ErrUndescribed. HEAD responses
// have no body to check.
func (v *Validator) Check(req *http.Request, status int, header http.Header, body []byte) error {
	if req.Method == http.MethodHead {
		return nil
	}
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		return v.checkUnmatched(req, status, header, body)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("%s %s answered %d, not as described: %w", req.Method, route.Path, status, err)
	}
	if res := route.Operation.Responses.Status(status); res != nil && len(res.Value.Content) == 0 && len(body) > 0 {
		return fmt.Errorf("%s %s answered %d with a body; the description has none", req.Method, route.Path, status)
	}
	return nil
}

// checkUnmatched checks the response to a request no operation matches.
func (v *Validator) checkUnmatched(req *http.Request, status int, header http.Header, body []byte) error {
	switch {
	case status < 400 && req.Method == http.MethodOptions && header.Get("Access-Control-Allow-Methods") != "":
		return nil // a CORS preflight, answered before any route
	case status < 400:
		return fmt.Errorf("%s %s answered %d: %w", req.Method, req.URL.Path, status, ErrUndescribed)
	}
	if ct := header.Get("Content-Type"); ct != "application/json" {
		return fmt.Errorf("%s %s answered %d with Content-Type %q, want application/json", req.Method, req.URL.Path, status, ct)
	}
	val, err := decodeJSON(body)
	if err == nil {
		err = v.errRef.Value.VisitJSON(val, openapi3.EnableJSONSchema2020())
	}
	if err != nil {
		return fmt.Errorf("%s %s answered %d, not in the Error shape: %w", req.Method, req.URL.Path, status, err)
	}
	return nil
}

// Transport returns a RoundTripper that sends requests with base
// (http.DefaultTransport when nil) and checks each response against the
// description its server answers at /openapi.json, fetched by the first
// request to each server (scheme and host), failing t when one does not
// hold. The response reaches the caller unchanged. Use one Transport per
// server: a port of a server that stopped may be another's later.
func Transport(t testing.TB, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{t: t, base: base, served: map[string]*Validator{}}
}

type transport struct {
	t    testing.TB
	base http.RoundTripper

	mu     sync.Mutex
	served map[string]*Validator // by the server's scheme and host
}

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := tr.base.RoundTrip(req)
	if err != nil {
		return res, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return res, nil // the caller meets the cut body itself
	}
	v, err := tr.validator(req)
	if err == nil {
		err = v.Check(req, res.StatusCode, res.Header, body)
	}
	if err != nil {
		tr.t.Errorf("openapi: %v", err)
	}
	return res, nil
}

// validator returns the Validator of the description req's server
// answers.
func (tr *transport) validator(req *http.Request) (*Validator, error) {
	origin := req.URL.Scheme + "://" + req.URL.Host
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if v := tr.served[origin]; v != nil {
		return v, nil
	}
	get, _ := http.NewRequest(http.MethodGet, origin+"/openapi.json", nil)
	res, err := tr.base.RoundTrip(get)
	if err != nil {
		return nil, fmt.Errorf("fetch the description: %w", err)
	}
	defer res.Body.Close()
	doc, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /openapi.json: %d %s", res.StatusCode, strings.TrimSpace(string(doc)))
	}
	v, err := New(doc)
	if err != nil {
		return nil, err
	}
	tr.served[origin] = v
	return v, nil
}

// Client returns an http.Client whose Transport is Transport(t, nil).
func Client(t testing.TB) *http.Client {
	return &http.Client{Transport: Transport(t, nil)}
}

// decodeJSON decodes one JSON value, as the validator reads bodies.
func decodeJSON(body []byte) (any, error) {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, fmt.Errorf("body is not JSON: %w", err)
	}
	return v, nil
}
