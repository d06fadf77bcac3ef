package resolvertest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// SigningKey is a throwaway ed25519 key that signs fixture commits and
// tags the way `git commit -S` and `git tag -s` do with gpg.format=ssh.
type SigningKey struct {
	// PrivateKeyFile is the path of the private key (OpenSSH format, no
	// passphrase), as git's user.signingkey names it.
	PrivateKeyFile string
	// PublicKey is the public key as an authorized_keys line
	// ("ssh-ed25519 AAAA… comment"), what an allowed_signers line holds.
	PublicKey string
}

// NewSigningKey makes a SigningKey in a temporary directory of t with
// ssh-keygen. It skips t with the reason when ssh-keygen is not installed
// (Debian: apt-get install openssh-client), and fails t instead when
// PLUGINDRIFT_REQUIRE_SSH=1.
func NewSigningKey(t testing.TB) SigningKey {
	t.Helper()
	keygen, err := exec.LookPath("ssh-keygen")
	if err != nil {
		msg := "resolvertest: signed fixtures need ssh-keygen (Debian: apt-get install openssh-client)"
		if os.Getenv(RequireSSHEnv) == "1" {
			t.Fatalf("%s; %s=1 requires it", msg, RequireSSHEnv)
		}
		t.Skip(msg)
	}
	path := filepath.Join(t.TempDir(), "signing_key")
	if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", "fixture-signer", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("resolvertest: ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatalf("resolvertest: %v", err)
	}
	return SigningKey{PrivateKeyFile: path, PublicKey: strings.TrimSpace(string(pub))}
}

// signingArgs are the git options that sign with key as the fixture
// identity.
func (k SigningKey) signingArgs() []string {
	return []string{
		"-c", "user.name=Fixture", "-c", "user.email=fixture@plugindrift.invalid",
		"-c", "gpg.format=ssh", "-c", "user.signingkey=" + k.PrivateKeyFile,
	}
}

// SignedCommit adds a commit signed with key on top of branch of repo (a
// new branch starting at from, a full ref name, when branch does not
// exist yet) and returns its SHA. The commit keeps its parent's tree.
func (r *Repos) SignedCommit(t testing.TB, repo, branch, from string, key SigningKey) string {
	t.Helper()
	full := "refs/heads/" + branch
	parent := r.SHA(repo, full)
	if parent == "" {
		parent = r.SHA(repo, from)
	}
	if parent == "" {
		t.Fatalf("resolvertest: %s has neither branch %q nor %q", repo, branch, from)
	}
	args := append(key.signingArgs(), "commit-tree", "-S", "-p", parent, "-m", "signed on "+branch, parent+"^{tree}")
	sha := strings.TrimSpace(git(t, r.Path(repo), nil, args...))
	git(t, r.Path(repo), nil, "update-ref", full, sha)
	r.record(repo, full, fixtureRef{commit: sha})
	return sha
}

// SignedTag creates tag of repo on the tip of branch, annotated and
// signed with key, and returns the commit's SHA; [Repos.TagObject] names
// the tag object.
func (r *Repos) SignedTag(t testing.TB, repo, tag, branch string, key SigningKey) string {
	t.Helper()
	tip := r.SHA(repo, "refs/heads/"+branch)
	if tip == "" {
		t.Fatalf("resolvertest: %s has no branch %q", repo, branch)
	}
	full := "refs/tags/" + tag
	if r.SHA(repo, full) != "" {
		t.Fatalf("resolvertest: %s already has tag %q", repo, tag)
	}
	args := append(key.signingArgs(), "tag", "-s", "-m", "release "+tag, "--", tag, tip)
	git(t, r.Path(repo), nil, args...)
	object := strings.TrimSpace(git(t, r.Path(repo), nil, "rev-parse", "--verify", full))
	r.record(repo, full, fixtureRef{commit: tip, tagObject: object})
	return tip
}

// RawObject returns the object id of repo as git hashes it, the body of
// `git cat-file <type> <id>` (signatures included); kind is "commit" or
// "tag".
func (r *Repos) RawObject(t testing.TB, repo, kind, id string) []byte {
	t.Helper()
	return []byte(git(t, r.Path(repo), nil, "cat-file", kind, id))
}

// record notes what a ref written outside a stream points at.
func (r *Repos) record(repo, ref string, fr fixtureRef) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refs[repo][ref] = fr
}
