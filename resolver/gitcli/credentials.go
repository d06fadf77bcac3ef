package gitcli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/plugindrift/plugindrift/internal/authheader"
	"github.com/plugindrift/plugindrift/internal/gitexec"
	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/tracking"
)

// Credentials supplies what git presents to a private remote. It is the
// host's hook: it may read a secret store, mint a short-lived token (a
// GitHub App installation token, see the github package's App), or answer
// per host or per source. It must be safe for concurrent use.
type Credentials interface {
	// Credential returns the credential for one git call (an ls-remote of
	// Resolve, the download of Fetch), or the zero Credential to go
	// without. It is called before every such call, so a rotated secret is
	// picked up at once. An error fails the call without running git.
	Credential(ctx context.Context, req CredentialRequest) (Credential, error)
}

// CredentialsFunc is a Credentials made of a function.
type CredentialsFunc func(ctx context.Context, req CredentialRequest) (Credential, error)

// Credential implements Credentials.
func (f CredentialsFunc) Credential(ctx context.Context, req CredentialRequest) (Credential, error) {
	return f(ctx, req)
}

// CredentialRequest says which remote a credential is for.
type CredentialRequest struct {
	// Source is the source being resolved or fetched.
	Source tracking.Source
	// Transport is how git reaches it: "https", "http" or "ssh". (git+file
	// sources never ask.)
	Transport string
	// Host is the host, with its port if any, that git connects to,
	// lowercase: the host of a git source's URL, or of the GitBaseURL of a
	// GitHub source's host.
	Host string
	// GitHub is the GitHub host of a github:// source (its entry in
	// Config.GitHubHosts); zero for git sources.
	GitHub resolver.GitHubHost
}

type credentialKind int

const (
	credNone credentialKind = iota
	credBasic
	credBearer
	credSSH
)

// Credential is one answer of Credentials: HTTPS basic (user and password
// or token), an HTTPS bearer token, or an SSH private key with the known
// hosts to check the server against. Make it with [Basic], [Bearer] or
// [SSHKey]; the zero Credential means none. Its String never shows the
// secret.
type Credential struct {
	kind       credentialKind
	user       string
	secret     string
	key        []byte
	knownHosts string
}

// Basic is HTTPS basic authentication. For GitHub tokens (personal, or an
// App's installation token) the user is "x-access-token" and the password
// the token.
func Basic(username, password string) Credential {
	return Credential{kind: credBasic, user: username, secret: password}
}

// Bearer is an HTTPS bearer token, sent as "Authorization: Bearer <token>".
func Bearer(token string) Credential {
	return Credential{kind: credBearer, secret: token}
}

// SSHKey is an SSH private key (the contents of an OpenSSH or PEM key file,
// without a passphrase) and the known_hosts file the server's host key is
// checked against (required: an unknown or changed host key fails).
func SSHKey(privateKey []byte, knownHostsFile string) Credential {
	return Credential{kind: credSSH, key: privateKey, knownHosts: knownHostsFile}
}

// IsZero reports whether c is no credential.
func (c Credential) IsZero() bool { return c.kind == credNone }

// String names the kind of credential, never its secret.
func (c Credential) String() string {
	switch c.kind {
	case credBasic:
		return "gitcli.Basic(REDACTED)"
	case credBearer:
		return "gitcli.Bearer(REDACTED)"
	case credSSH:
		return fmt.Sprintf("gitcli.SSHKey(REDACTED, %q)", c.knownHosts)
	}
	return "gitcli.Credential{}"
}

// GoString is String, so %#v does not show the secret either.
func (c Credential) GoString() string { return c.String() }

// credentialHelper is the credential.helper git runs for HTTPS basic
// authentication: a shell function that answers "get" with what the pipe
// on file descriptor 3 holds (gitexec.Call.Secret), and ignores "store"
// and "erase". The secret is never in a file, an argument or a variable.
const credentialHelper = `!f() { test "$1" = get && cat <&3; }; f`

// sshConfigured is what an SSHKey credential runs ssh with, besides -i:
// only that key, the host's known hosts, no prompts, no user or system
// ssh configuration.
const sshConfigured = "ssh -F /dev/null -o IdentitiesOnly=yes -o IdentityAgent=none -o StrictHostKeyChecking=yes -o BatchMode=yes"

// credentialed is a git call's additions for a credential, and what to
// clean up after it.
type credentialed struct {
	call gitexec.Call
	sent bool
	// keyDir is the temporary directory of an SSH key file; "" for none.
	keyDir string
}

// cleanup removes what the credential left on disk, once git is done.
func (c credentialed) cleanup() {
	if c.keyDir != "" {
		_ = os.RemoveAll(c.keyDir)
	}
}

// credential asks Config.Credentials for the credential of up's source at
// up.url and turns it into a gitexec.Call: a credential helper reading a pipe for
// basic authentication, an http.extraHeader for bearer tokens, a
// GIT_SSH_COMMAND with a key file in a private temporary directory for
// ssh. The caller runs cleanup once git is done.
func (r *Resolver) credential(ctx context.Context, up upstream) (credentialed, error) {
	var none credentialed
	transport, host := remoteHost(up.url)
	if r.creds == nil || transport == "file" {
		return none, nil
	}
	req := CredentialRequest{Source: up.source, Transport: transport, Host: host, GitHub: up.github}
	c, err := r.creds.Credential(ctx, req)
	if err != nil {
		// The provider's error is the host's own; it is wrapped, not
		// quoted into a new text.
		return none, fmt.Errorf("gitcli: credentials for %s: %w", host, err)
	}
	bad := func(what string) error {
		return fmt.Errorf("gitcli: Config.Credentials returned %s for %s over %s: %w", what, host, transport, tracking.ErrInvalidArgument)
	}
	switch c.kind {
	case credNone:
		return none, nil
	case credBasic, credBearer:
		if transport != "https" && transport != "http" {
			return none, bad("an HTTPS credential (Basic or Bearer) for a remote reached over ssh; return SSHKey for ssh remotes")
		}
		if c.kind == credBearer {
			if !authheader.Safe(c.secret) || c.secret == "" {
				return none, bad("a bearer token that is empty or holds spaces or control characters")
			}
			return credentialed{sent: true, call: gitexec.Call{Config: []gitexec.ConfigEntry{
				{Key: "http.extraHeader", Value: "Authorization: Bearer " + c.secret},
			}}}, nil
		}
		if c.user == "" || !lineSafe(c.user) || !lineSafe(c.secret) || strings.ContainsRune(c.user, '=') {
			return none, bad("a basic credential with an empty user name or a line break, NUL or, in the user name, '='")
		}
		return credentialed{sent: true, call: gitexec.Call{
			Config: []gitexec.ConfigEntry{
				{Key: "credential.helper", Value: ""}, // no other helper
				{Key: "credential.helper", Value: credentialHelper},
			},
			Secret: []byte("username=" + c.user + "\npassword=" + c.secret + "\n"),
		}}, nil
	case credSSH:
		if transport != "ssh" {
			return none, bad("an SSH key for a remote reached over " + transport + "; return Basic or Bearer for HTTPS remotes")
		}
		if len(c.key) == 0 || c.knownHosts == "" || !filepath.IsAbs(c.knownHosts) {
			return none, bad("an SSH key without key material or without an absolute known_hosts path")
		}
		return sshCall(c)
	}
	return none, bad("an unknown credential")
}

// sshCall writes the key to a file only its owner can read, in a
// temporary directory only its owner can enter, removed by cleanup, and
// names it in GIT_SSH_COMMAND. ssh reads keys only from files; the file
// lives no longer than the git call.
func sshCall(c Credential) (credentialed, error) {
	dir, err := os.MkdirTemp("", "plugindrift-ssh-")
	if err != nil {
		return credentialed{}, fmt.Errorf("gitcli: ssh key: %w", err)
	}
	cred := credentialed{sent: true, keyDir: dir}
	key := c.key
	if key[len(key)-1] != '\n' {
		key = append(append([]byte(nil), key...), '\n') // ssh refuses a key without its final newline
	}
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		cred.cleanup()
		return credentialed{}, fmt.Errorf("gitcli: ssh key: %w", err)
	}
	command := sshConfigured + " -o UserKnownHostsFile=" + shellQuote(c.knownHosts) + " -i " + shellQuote(keyFile)
	cred.call = gitexec.Call{Env: []string{"GIT_SSH_COMMAND=" + command, "GIT_SSH_VARIANT=ssh"}}
	return cred, nil
}

// remoteHost returns the transport and the host (with port, lowercase) of
// a remote URL as gitcli builds them: "<transport>://[user@]host[:port]/…".
func remoteHost(remote string) (transport, host string) {
	transport, rest, _ := strings.Cut(remote, "://")
	authority, _, _ := strings.Cut(rest, "/")
	if _, after, ok := strings.Cut(authority, "@"); ok {
		authority = after
	}
	return transport, strings.ToLower(authority)
}

// shellQuote quotes s for the shell git runs GIT_SSH_COMMAND with.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// lineSafe reports whether s can be one value of git's credential
// protocol: no line breaks and no NUL.
func lineSafe(s string) bool { return !strings.ContainsAny(s, "\r\n\x00") }
