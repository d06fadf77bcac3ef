package resolvertest

import (
	"crypto/subtle"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"testing"
)

// ServeSmartHTTP serves the bare repositories under root read-only over
// git's smart HTTP protocol (git http-backend behind net/http/cgi) on a
// loopback address, until t ends. It returns the base URL,
// "http://127.0.0.1:<port>"; the repository root/<name>.git is at
// <base>/<name>.git. Protocol v2 is negotiated as with a real server,
// and filtered fetches (partial clones) are served.
// It fails t when git is not installed.
func ServeSmartHTTP(t testing.TB, root string) string {
	t.Helper()
	return serveSmartHTTP(t, root, HTTPAuth{})
}

// HTTPAuth is what a private smart HTTP server demands. Set Username and
// Password (or Basic, for credentials that change, such as short-lived
// tokens) for basic authentication, BearerToken for a bearer token, or
// both to accept either.
type HTTPAuth struct {
	Username, Password string
	// Basic, when set, decides basic credentials instead of Username and
	// Password.
	Basic       func(username, password string) bool
	BearerToken string
}

// demands reports whether auth asks for anything.
func (a HTTPAuth) demands() bool { return a.Username != "" || a.Basic != nil || a.BearerToken != "" }

// basicOK reports whether basic credentials are accepted.
func (a HTTPAuth) basicOK(user, pass string) bool {
	if a.Basic != nil {
		return a.Basic(user, pass)
	}
	return a.Username != "" && sameSecret(user, a.Username) && sameSecret(pass, a.Password)
}

// sameSecret compares two secrets in constant time.
func sameSecret(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// ServePrivateSmartHTTP is ServeSmartHTTP for a server that demands auth:
// a request without credentials gets 401 with a Basic challenge, wrong
// basic credentials 401 and a wrong bearer token 403, as hosting services
// answer. It fails t when auth demands nothing.
func ServePrivateSmartHTTP(t testing.TB, root string, auth HTTPAuth) string {
	t.Helper()
	if !auth.demands() {
		t.Fatalf("resolvertest: ServePrivateSmartHTTP needs basic credentials or a bearer token")
	}
	return serveSmartHTTP(t, root, auth)
}

func serveSmartHTTP(t testing.TB, root string, auth HTTPAuth) string {
	t.Helper()
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Fatalf("resolvertest: smart HTTP needs git: %v", err)
	}
	if gitPath, err = filepath.Abs(gitPath); err != nil {
		t.Fatalf("resolvertest: %v", err)
	}
	var backend http.Handler = &cgi.Handler{
		Path: gitPath,
		Args: []string{"http-backend"},
		Env: []string{
			"GIT_PROJECT_ROOT=" + root,
			"GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_NOSYSTEM=1",
			"GIT_CONFIG_GLOBAL=/dev/null",
			// Partial clones (--filter), as GitHub and GitLab serve them.
			"GIT_CONFIG_COUNT=1",
			"GIT_CONFIG_KEY_0=uploadpack.allowFilter",
			"GIT_CONFIG_VALUE_0=true",
		},
		Stderr: logWriter{t, "git http-backend"},
	}
	if auth.demands() {
		backend = authenticated(auth, backend)
	}
	srv := httptest.NewServer(backend)
	t.Cleanup(srv.Close)
	return srv.URL
}

// authenticated lets through requests that carry auth's credentials.
func authenticated(auth HTTPAuth, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		header := req.Header.Get("Authorization")
		user, pass, isBasic := req.BasicAuth()
		switch {
		case header == "":
			w.Header().Set("WWW-Authenticate", `Basic realm="resolvertest"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
		case isBasic && auth.basicOK(user, pass):
			next.ServeHTTP(w, req)
		case isBasic:
			w.Header().Set("WWW-Authenticate", `Basic realm="resolvertest"`)
			http.Error(w, "bad credentials", http.StatusUnauthorized)
		case auth.BearerToken != "" && sameSecret(header, "Bearer "+auth.BearerToken):
			next.ServeHTTP(w, req)
		default:
			http.Error(w, "bad token", http.StatusForbidden)
		}
	})
}

// logWriter sends a server's complaints to the test log.
type logWriter struct {
	t      testing.TB
	server string
}

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s: %s", w.server, p)
	return len(p), nil
}
