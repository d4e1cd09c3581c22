package notes_test

import (
	"testing"

	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/examples/notes"
	"github.com/kura-dev/kura/httpapi"
	"github.com/kura-dev/kura/internal/dbtest"
	"github.com/kura-dev/kura/internal/openapitest"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

// TestRoutes_OpenAPI holds the app's description to its routes: every
// route Routes adds is described, every operation described is served,
// and the merged description (kura's and the app's, as GET /openapi.json
// answers it) is valid and passes redocly lint.
func TestRoutes_OpenAPI(t *testing.T) {
	db := dbtest.Open(t, sqldb.SQLite)
	srv := httpapi.NewServer(httpapi.Config{Users: accounts.NewUserService(db), Sessions: accounts.NewSessionService(db, 0),
		Notifications: store.NewNotificationService(db)})
	notes.Routes(srv, nil)
	undescribed, unserved := srv.OpenAPICoverage()
	if len(undescribed) > 0 {
		t.Errorf("routes examples/notes/openapi.json does not describe: %v", undescribed)
	}
	if len(unserved) > 0 {
		t.Errorf("operations examples/notes/openapi.json describes that no route serves: %v", unserved)
	}
	doc := srv.OpenAPIDocument()
	if _, err := openapitest.New(doc); err != nil {
		t.Fatalf("the merged description: %v", err)
	}
	openapitest.Lint(t, doc)
}
