package gitcli_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"

	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/resolver/gitcli"
	"github.com/plugindrift/plugindrift/tracking"
)

// privateServer serves the repositories under root over smart HTTP to
// user "x-access-token" with password token only.
func privateServer(root, token string) *httptest.Server {
	gitPath, err := exec.LookPath("git")
	if err != nil {
		log.Fatal(err)
	}
	backend := &cgi.Handler{Path: gitPath, Args: []string{"http-backend"}, Env: []string{
		"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
	}}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if user, pass, ok := req.BasicAuth(); !ok || user != "x-access-token" || pass != token {
			w.Header().Set("WWW-Authenticate", `Basic realm="example"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, req)
	}))
}

// A private repository over HTTPS: Config.Credentials answers each git
// call with a token for the one host it belongs to (a secret store would
// be asked here). The token reaches git through a pipe, never through its
// arguments, a file or the environment. Without credentials the remote's
// refusal matches resolver.ErrUnauthorized.
func ExampleCredentialsFunc() {
	dir, _ := newUpstream()
	defer os.RemoveAll(dir)
	const token = "ghs_exampletoken"
	srv := privateServer(dir, token)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	creds := gitcli.CredentialsFunc(func(ctx context.Context, req gitcli.CredentialRequest) (gitcli.Credential, error) {
		if req.Host != host {
			return gitcli.Credential{}, nil // nothing for other hosts
		}
		return gitcli.Basic("x-access-token", token), nil
	})
	r, err := gitcli.New(&gitcli.Config{Credentials: creds})
	if err != nil {
		log.Fatal(err)
	}
	src, err := tracking.ParseSource("git+" + srv.URL + "/upstream")
	if err != nil {
		log.Fatal(err)
	}
	ref, err := tracking.ParseRef("head")
	if err != nil {
		log.Fatal(err)
	}
	res, err := r.Resolve(context.Background(), resolver.Request{Source: src, Ref: ref})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("revision:", strings.TrimSuffix(res.Revision, res.SHA)+"…")

	anonymous, err := gitcli.New(nil)
	if err != nil {
		log.Fatal(err)
	}
	_, err = anonymous.Resolve(context.Background(), resolver.Request{Source: src, Ref: ref})
	fmt.Println("without credentials, unauthorized:", errors.Is(err, resolver.ErrUnauthorized))
	// Output:
	// revision: main@sha1:…
	// without credentials, unauthorized: true
}

// A private repository over SSH: the key (here read from a file; it may
// come from a secret store) and the known_hosts file its server's host key
// is checked against. gitcli writes the key to a private temporary file
// for the length of each git call and runs ssh with that key only.
func ExampleSSHKey() {
	creds := gitcli.CredentialsFunc(func(ctx context.Context, req gitcli.CredentialRequest) (gitcli.Credential, error) {
		if req.Transport != "ssh" {
			return gitcli.Credential{}, nil
		}
		key, err := os.ReadFile("/etc/plugindrift/deploy_key")
		if err != nil {
			return gitcli.Credential{}, err
		}
		return gitcli.SSHKey(key, "/etc/plugindrift/known_hosts"), nil
	})
	r, err := gitcli.New(&gitcli.Config{Credentials: creds})
	if err != nil {
		log.Fatal(err)
	}
	_ = r // resolve git+ssh://git@git.example.com/acme/plugin.git with it
}

// github:// sources on github.com and on a GitHub Enterprise host, read
// over git from one host map (the same value the github resolver takes).
func ExampleConfig_gitHubHosts() {
	hosts, err := resolver.NewGitHubHosts(
		resolver.DefaultGitHubHost,                   // github://owner/repo: https://github.com/owner/repo.git
		resolver.GitHubHost{Name: "ghe.example.com"}, // github://ghe.example.com/owner/repo: https://ghe.example.com/owner/repo.git
	)
	if err != nil {
		log.Fatal(err)
	}
	r, err := gitcli.New(&gitcli.Config{GitHubHosts: hosts})
	if err != nil {
		log.Fatal(err)
	}
	_ = r
	for _, h := range hosts.All() {
		fmt.Println(h.Name, h.GitBaseURL)
	}
	// Output:
	// github.com https://github.com
	// ghe.example.com https://ghe.example.com
}
