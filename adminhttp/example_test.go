package adminhttp_test

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/plugindrift/plugindrift/adminhttp"
	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/storage/memstore"
	"github.com/plugindrift/plugindrift/tracking"
)

// ExampleNewHandler mounts the admin handler on a ServeMux behind a bearer
// token check, lists the pending queue and applies an update.
func ExampleNewHandler() {
	ctx := context.Background()
	now := func() time.Time { return time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC) }

	// A store with one queued update: ws-1 runs acme/chat v1.0.0, and
	// upstream has released v1.1.0.
	store := memstore.New()
	tracker, err := tracking.NewTracker(store, &tracking.TrackerConfig{Now: now})
	if err != nil {
		panic(err)
	}
	in, err := tracker.RecordInstall(ctx, tracking.InstallRecord{
		WorkspaceID: "ws-1", PluginName: "chat", Source: "github://acme/chat", Ref: "tag:latest",
		SHA: strings.Repeat("a", 40), Version: "v1.0.0",
	})
	if err != nil {
		panic(err)
	}
	if _, err := store.Reconcile(ctx, storage.ReconcileParams{
		Key: tracking.UpstreamKey{Source: in.Source, Ref: in.Ref}, SHA: strings.Repeat("b", 40), Version: "v1.1.0", Now: now(),
	}); err != nil {
		panic(err)
	}

	installer := drift.InstallerFunc(func(ctx context.Context, req drift.InstallRequest) error {
		fmt.Printf("installing %s %s at %s…\n", req.PluginName, req.Version, req.SHA[:12])
		return nil
	})
	updater, err := drift.NewUpdater(store, installer, nil, &drift.UpdaterConfig{Now: now})
	if err != nil {
		panic(err)
	}

	// Authorize maps a bearer token to the operator it belongs to; bob
	// may only read.
	operators := map[string]string{"s3cret-token-of-alice": "alice", "s3cret-token-of-bob": "bob"}
	admin, err := adminhttp.NewHandler(adminhttp.Config{
		Updater: updater,
		Store:   store,
		Authorize: func(r *http.Request, op adminhttp.Operation) (string, error) {
			token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok {
				return "", adminhttp.ErrUnauthenticated
			}
			for known, actor := range operators {
				if subtle.ConstantTimeCompare([]byte(token), []byte(known)) == 1 {
					if actor == "bob" && op != adminhttp.OpRead {
						return "", adminhttp.ErrForbidden
					}
					return actor, nil
				}
			}
			return "", adminhttp.ErrForbidden
		},
		Now: now,
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/admin/", admin) // the default Prefix
	srv := httptest.NewServer(mux)
	defer srv.Close()

	call := func(method, path, token string) (int, map[string]any) {
		req, _ := http.NewRequestWithContext(ctx, method, srv.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}

	status, _ := call("GET", "/admin/plugin-updates-pending", "")
	fmt.Println("no token:", status)
	status, _ = call("GET", "/admin/plugin-updates-pending", "wrong")
	fmt.Println("wrong token:", status)

	status, body := call("GET", "/admin/plugin-updates-pending", "s3cret-token-of-alice")
	fmt.Println("pending:", status)
	for _, u := range body["updates"].([]any) {
		u := u.(map[string]any)
		fmt.Printf("  #%v %s/%s %s → %s (%s)\n", u["id"], u["workspace_id"], u["plugin_name"], u["from_version"], u["to_version"], u["kind"])
	}

	status, _ = call("POST", "/admin/plugin-updates/1/apply", "s3cret-token-of-bob")
	fmt.Println("apply as a read-only operator:", status)

	status, body = call("POST", "/admin/plugin-updates/1/apply", "s3cret-token-of-alice")
	u := body["update"].(map[string]any)
	fmt.Println("apply:", status, u["status"], "by", u["decided_by"], "at", u["decided_at"])

	status, body = call("POST", "/admin/plugin-updates/01/apply", "s3cret-token-of-alice")
	fmt.Println("bad id:", status, body["error"].(map[string]any)["code"])

	// Output:
	// no token: 401
	// wrong token: 403
	// pending: 200
	//   #1 ws-1/chat v1.0.0 → v1.1.0 (new-version)
	// apply as a read-only operator: 403
	// installing chat v1.1.0 at bbbbbbbbbbbb…
	// apply: 200 applied by alice at 2031-01-02T03:04:05Z
	// bad id: 400 bad_request
}
