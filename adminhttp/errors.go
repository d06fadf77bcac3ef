package adminhttp

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// The stable error codes of the API (see the package documentation). The
// API's answers and the page's messages both name outcomes by them.
const (
	codeBadRequest           = "bad_request"
	codeUnauthorized         = "unauthorized"
	codeForbidden            = "forbidden"
	codeNotFound             = "not_found"
	codeMethodNotAllowed     = "method_not_allowed"
	codeConflict             = "conflict"
	codeBusy                 = "busy"
	codeClaimLost            = "claim_lost"
	codePayloadTooLarge      = "payload_too_large"
	codeUnsupportedMediaType = "unsupported_media_type"
	codeInternal             = "internal"
	codeNotImplemented       = "not_implemented"
	codeInstallFailed        = "install_failed"
	codeRestartFailed        = "restart_failed"
	// codeConfirmationRequired: applying an integrity alarm (a moved tag)
	// needs {"confirm_tag_moved": true}.
	codeConfirmationRequired = "confirmation_required"
	// codeVerificationRequired: applying an entry whose trust policy
	// requires a verified signature its commit lacks needs
	// {"unverified_reason": "…"}.
	codeVerificationRequired = "verification_required"
)

// apiError is a response error: status, stable code and a message written
// here, never taken from the error of a store, installer or resolver.
type apiError struct {
	status  int
	code    string
	message string
	update  *updateJSON // the entry's state, when the operation had one
	noBack  bool        // the HTML error page offers no link back to the page (it would be refused too)
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errBadRequest(msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: codeBadRequest, message: msg}
}

var (
	errUnauthenticated = &apiError{status: http.StatusUnauthorized, code: codeUnauthorized, message: "authentication required", noBack: true}
	errForbidden       = &apiError{status: http.StatusForbidden, code: codeForbidden, message: "you may not operate the plugin update queue"}
	errCrossOrigin     = &apiError{status: http.StatusForbidden, code: codeForbidden, message: "cross-origin request refused: submit the form from the admin page itself"}
	errInternal        = &apiError{status: http.StatusInternalServerError, code: codeInternal, message: "internal error; the server log has the details"}
	errNoSweeper       = &apiError{status: http.StatusNotImplemented, code: codeNotImplemented, message: "sweeps are not enabled: this admin handler was built without a Sweeper"}
)

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Update *updateJSON `json:"update,omitempty"`
}

// fail writes e as JSON, or as an HTML page on the page's paths.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, e *apiError) {
	if h.isPagePath(r.URL.Path) {
		h.renderError(w, r, e)
		return
	}
	var body errorBody
	body.Error.Code = e.code
	body.Error.Message = e.message
	body.Update = e.update
	h.writeJSON(w, r, e.status, body)
}

// writeJSON writes v with status. Encoding happens before the header is
// written, so an encoding failure still produces a clean 500.
func (h *handler) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		h.log.ErrorContext(r.Context(), "adminhttp: encode response", "path", r.URL.Path, "error", err)
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":{"code":"internal","message":"internal error; the server log has the details"}}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
