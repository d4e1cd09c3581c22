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
	// path or URL.
	Links map[string]string `json:"links"`
}

// handleIndex answers GET / with the configured Index.
func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, r, http.StatusOK, s.cfg.Index)
}
