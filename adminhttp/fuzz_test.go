package adminhttp

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
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
