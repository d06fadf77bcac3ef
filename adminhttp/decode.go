package adminhttp

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// Limits of list requests.
const (
	defaultLimit = 50
	maxLimit     = 200
	maxCursorLen = 512
)

// parseID accepts a positive int64 in canonical decimal: no sign, no
// leading zero, at most 19 digits.
func parseID(s string) (int64, *apiError) {
	bad := errBadRequest("the update id must be a positive decimal integer (no sign, no leading zeros, at most 19 digits)")
	if s == "" || len(s) > 19 || s[0] < '1' || s[0] > '9' {
		return 0, bad
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, bad
		}
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, bad
	}
	return id, nil
}

func pathID(r *http.Request) (int64, *apiError) { return parseID(r.PathValue("id")) }

// readBody reads a request body of at most max bytes.
func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, *apiError) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, &apiError{status: http.StatusRequestEntityTooLarge, code: codePayloadTooLarge,
				message: fmt.Sprintf("the request body is larger than %d bytes", max)}
		}
		return nil, errBadRequest("the request body could not be read")
	}
	return body, nil
}

// decodeJSON decodes body, a JSON object, into fields: each key names a
// field and its value is a pointer to decode that field's value into. An
// empty (or all-blank) body decodes nothing: every field of every request
// body is optional. Anything else — another content type, invalid UTF-8, a
// value that is not an object, a key not in fields (keys match exactly, not
// ignoring case as encoding/json would), a key given twice, a value of the
// wrong type, or data after the object — is refused with a message that
// shows the expected shape.
func decodeJSON(contentType string, body []byte, shape string, fields map[string]any) *apiError {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil
	}
	if mt, params, err := mime.ParseMediaType(contentType); err != nil || mt != "application/json" ||
		(params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8")) {
		return &apiError{status: http.StatusUnsupportedMediaType, code: codeUnsupportedMediaType,
			message: "send the body as Content-Type: application/json (UTF-8), or send no body"}
	}
	if !utf8.Valid(trimmed) {
		return errBadRequest("the request body is not valid UTF-8")
	}
	want := "{" + shape + "}"
	if trimmed[0] != '{' {
		return errBadRequest("the request body must be a JSON object, like " + want)
	}
	malformed := func(err error) *apiError {
		if syn, ok := errors.AsType[*json.SyntaxError](err); ok {
			return errBadRequest(fmt.Sprintf("malformed JSON at byte %d; want %s", syn.Offset, want))
		}
		return errBadRequest("malformed JSON; want " + want)
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if _, err := dec.Token(); err != nil { // the '{'
		return malformed(err)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return malformed(err)
		}
		key, _ := tok.(string)
		target, ok := fields[key]
		if !ok {
			return errBadRequest(fmt.Sprintf("unknown field %s; the body may hold %s", redact.Quote(key), want))
		}
		if seen[key] {
			return errBadRequest(fmt.Sprintf("field %q is given twice", key))
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return malformed(err)
		}
		if err := json.Unmarshal(raw, target); err != nil {
			return errBadRequest(fmt.Sprintf("field %q has the wrong type; want %s", key, want))
		}
	}
	if _, err := dec.Token(); err != nil { // the '}'
		return malformed(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errBadRequest("unexpected data after the JSON object")
	}
	return nil
}

// readJSON caps, reads and decodes a request body (see decodeJSON).
func (h *handler) readJSON(w http.ResponseWriter, r *http.Request, shape string, fields map[string]any) *apiError {
	body, e := readBody(w, r, h.maxBody)
	if e != nil {
		return e
	}
	return decodeJSON(r.Header.Get("Content-Type"), body, shape, fields)
}

// dismissShape is the body of POST …/dismiss, applyShape of POST
// …/apply; POST …/restore and POST …/sweeps take nothing, or an empty
// object.
const (
	dismissShape = `"reason": "…"`
	applyShape   = `"confirm_tag_moved": true, "unverified_reason": "…"`
)

// query holds the parameters of a list request, each given at most once.
type query struct {
	values url.Values
}

// parseQuery reads the query string of every GET route, the page's
// included. It refuses a malformed query (a pair with ";", which Go's own
// parser would drop silently, or a bad escape), parameters not in allowed,
// and repeated ones (except the repeatable ones), so that a typo is an
// error rather than a silently unfiltered list.
func parseQuery(r *http.Request, allowed []string, repeatable ...string) (query, *apiError) {
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return query{}, errBadRequest("the query string is malformed: write name=value pairs separated by &, with % escapes and no ;")
	}
	for k, vs := range vals {
		switch {
		case !slices.Contains(allowed, k) && len(allowed) == 0:
			return query{}, errBadRequest(fmt.Sprintf("unknown query parameter %s; this route takes none", redact.Quote(k)))
		case !slices.Contains(allowed, k):
			return query{}, errBadRequest(fmt.Sprintf("unknown query parameter %s; allowed: %s", redact.Quote(k), strings.Join(allowed, ", ")))
		case len(vs) > 1 && !slices.Contains(repeatable, k):
			return query{}, errBadRequest(fmt.Sprintf("query parameter %s is given %d times; give it once", redact.Quote(k), len(vs)))
		}
	}
	return query{values: vals}, nil
}

func (q query) get(k string) string { return q.values.Get(k) }

// limit parses "limit": 1 to maxLimit, defaultLimit when absent.
func (q query) limit() (int, *apiError) {
	s, ok := q.values["limit"]
	if !ok {
		return defaultLimit, nil
	}
	n, err := strconv.Atoi(s[0])
	if err != nil || n < 1 || n > maxLimit || s[0] != strconv.Itoa(n) {
		return 0, errBadRequest(fmt.Sprintf("limit must be a whole number from 1 to %d (default %d)", maxLimit, defaultLimit))
	}
	return n, nil
}

// The rules of a workspace id and a plugin name, as refusals say them.
const (
	workspaceRule = "1 to 128 ASCII letters, digits and ._:@- starting with a letter or digit"
	pluginRule    = "1 to 100 of a-z 0-9 . _ - starting with a letter or digit"
)

// workspace parses "workspace_id" (empty: all workspaces).
func (q query) workspace(key string) (string, *apiError) {
	ws := q.get(key)
	if ws != "" && tracking.ValidateWorkspaceID(ws) != nil {
		return "", errBadRequest(fmt.Sprintf("%s %s is not a workspace id: %s", key, redact.Quote(ws), workspaceRule))
	}
	return ws, nil
}

// workspacePrefix parses a workspace id prefix (empty: all workspaces).
func (q query) workspacePrefix(key string) (string, *apiError) {
	p := q.get(key)
	if storage.ValidateWorkspacePrefix(p) != nil {
		return "", errBadRequest(fmt.Sprintf("%s %s is not the beginning of a workspace id: at most 128 ASCII letters, digits and ._:@-", key, redact.Quote(p)))
	}
	return p, nil
}

// plugin parses a plugin name (empty: all plugins).
func (q query) plugin(key string) (string, *apiError) {
	p := q.get(key)
	if p != "" && tracking.ValidatePluginName(p) != nil {
		return "", errBadRequest(fmt.Sprintf("%s %s is not a plugin name: %s", key, redact.Quote(p), pluginRule))
	}
	return p, nil
}

// source parses a source (empty: all sources), as ParseSource reads it.
func (q query) source(key string) (tracking.Source, *apiError) {
	raw := q.get(key)
	if raw == "" {
		return tracking.Source{}, nil
	}
	src, err := tracking.ParseSource(raw)
	if err != nil {
		return tracking.Source{}, errBadRequest(fmt.Sprintf("%s %s is not a source: write it as the entries show it, like github://owner/repo or git+https://host/path.git", key, redact.Quote(raw)))
	}
	return src, nil
}

// kindChoices names every kind for a refusal of the kinds filter ("a, b
// or c"), from storage.Kinds, so that a new kind is named there too.
var kindChoices = func() string {
	ks := storage.Kinds()
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = string(k)
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}()

// kinds parses every value of key, each a comma-separated list of kinds;
// an empty value filters nothing.
func (q query) kinds(key string) ([]tracking.UpdateKind, *apiError) {
	var out []tracking.UpdateKind
	for _, v := range q.values[key] {
		if v == "" {
			continue // an empty field of a GET form: no filter
		}
		for part := range strings.SplitSeq(v, ",") {
			k := tracking.UpdateKind(strings.TrimSpace(part))
			if !storage.KnownKind(k) {
				return nil, errBadRequest(fmt.Sprintf("unknown %s %s; use %s (repeat %s or separate with commas)", key, redact.Quote(string(k)), kindChoices, key))
			}
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	return out, nil
}

// statuses parses every "status" value, each a comma-separated list; an
// empty value filters nothing.
func (q query) statuses() ([]tracking.UpdateStatus, *apiError) {
	var out []tracking.UpdateStatus
	for _, v := range q.values["status"] {
		if v == "" {
			continue // an empty field of a GET form: no filter
		}
		for part := range strings.SplitSeq(v, ",") {
			st := tracking.UpdateStatus(strings.TrimSpace(part))
			if !st.Valid() {
				return nil, errBadRequest(fmt.Sprintf("unknown status %s; use pending, applying, applied, dismissed or superseded (repeat status or separate with commas)", redact.Quote(string(st))))
			}
			if !slices.Contains(out, st) {
				out = append(out, st)
			}
		}
	}
	return out, nil
}

// Cursors are opaque to clients: base64url of "<order><last id>" for
// updates ("a" oldest first, "d" newest first) and of
// "<workspace>\n<plugin>" for installs. Decoding validates them fully.

func encodeUpdateCursor(newest bool, lastID int64) string {
	order := "a"
	if newest {
		order = "d"
	}
	return base64.RawURLEncoding.EncodeToString([]byte(order + strconv.FormatInt(lastID, 10)))
}

var errBadCursor = errBadRequest("cursor is not valid: pass next_cursor from the previous page unchanged, or omit it to start over")

func decodeUpdateCursor(s string, newest bool) (int64, *apiError) {
	if s == "" {
		return 0, nil
	}
	if len(s) > maxCursorLen {
		return 0, errBadCursor
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(raw) < 2 {
		return 0, errBadCursor
	}
	if raw[0] != 'a' && raw[0] != 'd' {
		return 0, errBadCursor
	}
	if (raw[0] == 'd') != newest {
		return 0, errBadRequest("cursor belongs to a list in the other order: keep the order parameter of the first page")
	}
	id, e := parseID(string(raw[1:]))
	if e != nil {
		return 0, errBadCursor
	}
	return id, nil
}

func encodeInstallCursor(in tracking.Install) string {
	return base64.RawURLEncoding.EncodeToString([]byte(in.WorkspaceID + "\n" + in.PluginName))
}

func decodeInstallCursor(s string) (workspace, plugin string, e *apiError) {
	if s == "" {
		return "", "", nil
	}
	if len(s) > maxCursorLen {
		return "", "", errBadCursor
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return "", "", errBadCursor
	}
	ws, plugin, ok := strings.Cut(string(raw), "\n")
	if !ok || tracking.ValidateWorkspaceID(ws) != nil || tracking.ValidatePluginName(plugin) != nil {
		return "", "", errBadCursor
	}
	return ws, plugin, nil
}

// The history's cursor is base64url of "h<decided_at in µs>:<last id>".

func encodeDecisionCursor(at time.Time, lastID int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("h" + strconv.FormatInt(at.UnixMicro(), 10) + ":" + strconv.FormatInt(lastID, 10)))
}

func decodeDecisionCursor(s string) (time.Time, int64, *apiError) {
	if s == "" {
		return time.Time{}, 0, nil
	}
	if len(s) > maxCursorLen {
		return time.Time{}, 0, errBadCursor
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(raw) < 4 || raw[0] != 'h' {
		return time.Time{}, 0, errBadCursor
	}
	at, id, ok := strings.Cut(string(raw[1:]), ":")
	micros, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil || micros < 0 || at != strconv.FormatInt(micros, 10) {
		return time.Time{}, 0, errBadCursor
	}
	n, e := parseID(id)
	if e != nil {
		return time.Time{}, 0, errBadCursor
	}
	return time.UnixMicro(micros).UTC(), n, nil
}
