package adminhttp

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// FuzzDecodeJSON holds the request-body decoder to its contract on any
// input: it never panics; what it accepts is blank or one JSON object with
// only the key "reason" (exactly so, once) holding a string or null, and
// the reason it yields is valid UTF-8; what it refuses gets a 400 or 415
// answer with a stable code. Seeds are in testdata/fuzz/FuzzDecodeJSON.
func FuzzDecodeJSON(f *testing.F) {
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		var req struct{ Reason string }
		e := decodeJSON(contentType, body, dismissShape, map[string]any{"reason": &req.Reason})
		if e != nil {
			if req.Reason != "" && e.code == "unsupported_media_type" {
				t.Fatalf("a refused content type was decoded anyway")
			}
			switch {
			case e.status == 400 && e.code == "bad_request":
			case e.status == 415 && e.code == "unsupported_media_type":
			default:
				t.Fatalf("unexpected error %d %s", e.status, e.code)
			}
			if !utf8.ValidString(e.message) {
				t.Fatalf("message is not valid UTF-8: %q", e.message)
			}
			return
		}
		trimmed := bytes.TrimSpace(body)
		if len(trimmed) == 0 {
			if req.Reason != "" {
				t.Fatalf("blank body produced reason %q", req.Reason)
			}
			return
		}
		if !utf8.ValidString(req.Reason) {
			t.Fatalf("accepted a reason that is not valid UTF-8: %q", req.Reason)
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(trimmed, &obj); err != nil {
			t.Fatalf("accepted %q, which is not one JSON object: %v", body, err)
		}
		for k, v := range obj {
			if k != "reason" {
				t.Fatalf("accepted unknown field %q", k)
			}
			var s *string
			if err := json.Unmarshal(v, &s); err != nil {
				t.Fatalf("accepted a reason that is not a string: %s", v)
			}
			if s != nil && *s != req.Reason {
				t.Fatalf("reason %q decoded as %q", *s, req.Reason)
			}
		}
	})
}

// maxMessageLen bounds the message of a refused request: hostile input is
// truncated before it is quoted.
const maxMessageLen = 1024

// requireBadRequest fails unless e is a 400 whose message is valid UTF-8
// and bounded.
func requireBadRequest(t *testing.T, what string, e *apiError) {
	t.Helper()
	if e.status != http.StatusBadRequest || e.code != "bad_request" {
		t.Fatalf("%s refused with %d %s; want 400 bad_request", what, e.status, e.code)
	}
	if !utf8.ValidString(e.message) || len(e.message) > maxMessageLen {
		t.Fatalf("%s refused with a message that is not valid UTF-8 or longer than %d bytes: %q", what, maxMessageLen, e.message)
	}
}

// FuzzDecodeQuery holds the decoders of list requests to their contract on
// any query string: they never panic; what they refuse is a 400 and
// yields nothing; what they accept passes the validation the store relies
// on — only allowed parameters, each once unless repeatable; statuses
// valid, unique and named in the query; a workspace id valid; a limit
// within 1 to maxLimit and written canonically; a cursor that decodes
// encodes back to exactly the same text. Seeds are in
// testdata/fuzz/FuzzDecodeQuery.
func FuzzDecodeQuery(f *testing.F) {
	allowed := []string{"status", "workspace_id", "workspace_prefix", "plugin_name", "kind", "source", "order", "limit", "cursor"}
	f.Fuzz(func(t *testing.T, rawQuery string, newest bool) {
		r := httptest.NewRequest(http.MethodGet, "/admin/plugin-updates", nil)
		r.URL.RawQuery = rawQuery
		q, e := parseQuery(r, allowed, "status", "kind")
		if e != nil {
			requireBadRequest(t, "parseQuery", e)
			if q.values != nil {
				t.Fatalf("parseQuery refused %q but returned %v", rawQuery, q.values)
			}
			return
		}
		for k, vs := range q.values {
			if !slices.Contains(allowed, k) {
				t.Fatalf("parseQuery accepted parameter %q, which is not allowed", k)
			}
			if len(vs) != 1 && k != "status" && k != "kind" {
				t.Fatalf("parseQuery accepted %q given %d times", k, len(vs))
			}
		}

		if statuses, e := q.statuses(); e != nil {
			requireBadRequest(t, "statuses", e)
			if statuses != nil {
				t.Fatalf("statuses refused %q but returned %v", q.values["status"], statuses)
			}
		} else {
			named := map[string]bool{}
			for _, v := range q.values["status"] {
				for part := range strings.SplitSeq(v, ",") {
					named[strings.TrimSpace(part)] = true
				}
			}
			for i, st := range statuses {
				if !st.Valid() || !named[string(st)] || slices.Contains(statuses[:i], st) {
					t.Fatalf("statuses of %q returned %v: each must be valid, named in the query, and listed once", q.values["status"], statuses)
				}
			}
		}

		if ws, e := q.workspace("workspace_id"); e != nil {
			requireBadRequest(t, "workspace", e)
			if ws != "" {
				t.Fatalf("workspace refused but returned %q", ws)
			}
		} else if ws != q.get("workspace_id") || ws != "" && tracking.ValidateWorkspaceID(ws) != nil {
			t.Fatalf("workspace of %q returned %q", q.get("workspace_id"), ws)
		}

		if p, e := q.workspacePrefix("workspace_prefix"); e != nil {
			requireBadRequest(t, "workspacePrefix", e)
			if p != "" {
				t.Fatalf("workspacePrefix refused but returned %q", p)
			}
		} else if p != q.get("workspace_prefix") || storage.ValidateWorkspacePrefix(p) != nil {
			t.Fatalf("workspacePrefix of %q returned %q", q.get("workspace_prefix"), p)
		}
		if kinds, e := q.kinds("kind"); e != nil {
			requireBadRequest(t, "kinds", e)
			if kinds != nil {
				t.Fatalf("kinds refused %q but returned %v", q.values["kind"], kinds)
			}
		} else {
			for i, k := range kinds {
				if !storage.KnownKind(k) || slices.Contains(kinds[:i], k) {
					t.Fatalf("kinds of %q returned %v: each must be known and listed once", q.values["kind"], kinds)
				}
			}
		}
		if src, e := q.source("source"); e != nil {
			requireBadRequest(t, "source", e)
			if src.IsValid() {
				t.Fatalf("source refused but returned %v", src)
			}
		} else if raw := q.get("source"); raw != "" && !src.IsValid() || raw == "" && src.IsValid() {
			t.Fatalf("source of %q returned %v", raw, src)
		}
		if p, e := q.plugin("plugin_name"); e != nil {
			requireBadRequest(t, "plugin", e)
		} else if p != "" && tracking.ValidatePluginName(p) != nil {
			t.Fatalf("plugin of %q returned %q", q.get("plugin_name"), p)
		}
		if lp, e := listParams(q, nil); e == nil {
			lp.Limit = 1
			if err := lp.Validate(); err != nil {
				t.Fatalf("listParams of %q gave params the store refuses: %v", rawQuery, err)
			}
		} else {
			requireBadRequest(t, "listParams", e)
		}
		if at, id, e := decodeDecisionCursor(q.get("cursor")); e != nil {
			requireBadRequest(t, "decodeDecisionCursor", e)
		} else if id != 0 && encodeDecisionCursor(at, id) != q.get("cursor") {
			t.Fatalf("decodeDecisionCursor(%q) = %v, %d, which does not encode back to it", q.get("cursor"), at, id)
		}

		if n, e := q.limit(); e != nil {
			requireBadRequest(t, "limit", e)
			if n != 0 {
				t.Fatalf("limit refused but returned %d", n)
			}
		} else if s, given := q.values["limit"]; n < 1 || n > maxLimit || given && s[0] != strconv.Itoa(n) || !given && n != defaultLimit {
			t.Fatalf("limit of %q returned %d", s, n)
		}

		cursor := q.get("cursor")
		if id, e := decodeUpdateCursor(cursor, newest); e != nil {
			requireBadRequest(t, "decodeUpdateCursor", e)
			if id != 0 {
				t.Fatalf("decodeUpdateCursor refused %q but returned %d", cursor, id)
			}
		} else if cursor == "" && id != 0 || cursor != "" && (id < 1 || encodeUpdateCursor(newest, id) != cursor) {
			t.Fatalf("decodeUpdateCursor(%q, %v) = %d, which does not encode back to it", cursor, newest, id)
		}

		if ws, plugin, e := decodeInstallCursor(cursor); e != nil {
			requireBadRequest(t, "decodeInstallCursor", e)
			if ws != "" || plugin != "" {
				t.Fatalf("decodeInstallCursor refused %q but returned %q, %q", cursor, ws, plugin)
			}
		} else if cursor == "" {
			if ws != "" || plugin != "" {
				t.Fatalf("decodeInstallCursor of no cursor returned %q, %q", ws, plugin)
			}
		} else if tracking.ValidateWorkspaceID(ws) != nil || tracking.ValidatePluginName(plugin) != nil ||
			encodeInstallCursor(tracking.Install{WorkspaceID: ws, PluginName: plugin}) != cursor {
			t.Fatalf("decodeInstallCursor(%q) = %q, %q: not valid names that encode back to it", cursor, ws, plugin)
		}
	})
}

// FuzzParseID holds the id decoder of paths and cursors to canonical
// positive decimals: what it accepts is positive and prints back as
// exactly the input; what it refuses is a 400 and yields 0. Seeds are in
// testdata/fuzz/FuzzParseID.
func FuzzParseID(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		id, e := parseID(s)
		if e != nil {
			requireBadRequest(t, "parseID", e)
			if id != 0 {
				t.Fatalf("parseID refused %q but returned %d", s, id)
			}
			return
		}
		if id < 1 || strconv.FormatInt(id, 10) != s {
			t.Fatalf("parseID(%q) = %d, which is not the same number written canonically", s, id)
		}
	})
}
