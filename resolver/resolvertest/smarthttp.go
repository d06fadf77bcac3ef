package resolvertest

import (
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
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Fatalf("resolvertest: smart HTTP needs git: %v", err)
	}
	if gitPath, err = filepath.Abs(gitPath); err != nil {
		t.Fatalf("resolvertest: %v", err)
	}
	srv := httptest.NewServer(&cgi.Handler{
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
		Stderr: logWriter{t},
	})
	t.Cleanup(srv.Close)
	return srv.URL
}

// logWriter sends http-backend's complaints to the test log.
type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Logf("git http-backend: %s", p)
	return len(p), nil
}
