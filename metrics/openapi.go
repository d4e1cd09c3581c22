package metrics

import (
	_ "embed"
	"slices"
)

//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the OpenAPI 3.1 description of GET /metrics served on an
// API behind RequireToken, for httpapi.Server.AddOpenAPI: its $refs name
// the components of httpapi's description (Error, Internal).
func OpenAPI() []byte { return slices.Clone(openAPI) }
