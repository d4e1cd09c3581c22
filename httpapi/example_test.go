package httpapi_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/accounts"
	"github.com/kura-dev/kura/httpapi"
	"github.com/kura-dev/kura/sqldb"
	"github.com/kura-dev/kura/store"
)

// ExampleServer_HandleAuth mounts an application's route on kura's server:
// it runs behind kura's middleware, requires a bearer token from kura's
// login, and answers errors in kura's shape.
func ExampleServer_HandleAuth() {
	dir, _ := os.MkdirTemp("", "httpapi-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldb.Config{URL: filepath.Join(dir, "app.db"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	if err := db.MigrateUp(ctx, store.Schema); err != nil {
		fmt.Println(err)
		return
	}
	srv := httpapi.NewServer(httpapi.Config{
		Users:    accounts.NewUserService(db),
		Sessions: accounts.NewSessionService(db, 0),
		Logger:   slog.New(slog.DiscardHandler),
	})
	srv.HandleAuth("POST /api/greetings", func(w http.ResponseWriter, r *http.Request) error {
		var in struct {
			Name string `json:"name"`
		}
		if err := srv.ReadJSON(w, r, &in); err != nil {
			return err // 400 or 413 in the error shape
		}
		if in.Name == "" {
			return &kura.Error{Code: kura.EINVALID, Message: "Some fields are invalid.", // 422
				Fields: map[string]string{"name": "is required"}}
		}
		me := kura.UserFromContext(r.Context())
		srv.WriteJSON(w, r, http.StatusCreated, map[string]string{"greeting": "hello " + in.Name + " from " + me.Username})
		return nil
	})

	do := func(method, path, token, body string) string {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, req)
		return fmt.Sprint(w.Code, " ", strings.TrimSpace(w.Body.String()))
	}
	do("POST", "/api/users", "", `{"email":"ann@example.com","username":"ann","password":"a long passphrase"}`)
	sess, _ := accounts.NewSessionService(db, 0).Login(ctx, "ann", "a long passphrase")

	fmt.Println(do("POST", "/api/greetings", "", `{"name":"bob"}`))
	fmt.Println(do("POST", "/api/greetings", sess.Token, `{"name":""}`))
	fmt.Println(do("POST", "/api/greetings", sess.Token, `{"name":"bob"}`))
	// Output:
	// 401 {"error":{"code":"unauthorized","message":"Missing or malformed bearer token."}}
	// 422 {"error":{"code":"invalid","message":"Some fields are invalid.","fields":{"name":"is required"}}}
	// 201 {"greeting":"hello bob from ann"}
}
