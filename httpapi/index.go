package httpapi

import "net/http"

// Index is what GET / answers: a small JSON page naming the service and
// linking to where a person or a probe goes next.
type Index struct {
	// Name is the service's name, such as "kura".
	Name string `json:"name"`
	// Version, if set, is shown to anyone who asks, so that it also tells
	// an attacker which version's flaws to try. "" leaves it out of the
	// answer, as kura serve does: its operators read the version from
	// kura version and from the metrics' kura_build_info.
	Version string `json:"version,omitempty"`
	// Links maps what each link is for ("health", "api", "docs") to its
	// path or URL. The server adds "openapi", its description
	// (OpenAPIPath), unless Links has it.
	Links map[string]string `json:"links"`
}

// withOpenAPI returns a copy of the index that links to the server's
// description, under "openapi", unless it links there already.
func (x *Index) withOpenAPI() *Index {
	c := *x
	c.Links = make(map[string]string, len(x.Links)+1)
	for k, v := range x.Links {
		c.Links[k] = v
	}
	if _, ok := c.Links["openapi"]; !ok {
		c.Links["openapi"] = OpenAPIPath
	}
	return &c
}

// handleIndex answers GET / with the configured Index.
func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, r, http.StatusOK, s.cfg.Index)
}
