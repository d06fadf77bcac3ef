package signature

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/tracking"
)

// committedAt is the committer and tagger time of every fixture object,
// fixed so that validity bounds can be tested either side of it.
var committedAt = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)

// fx holds the signed objects made once for the whole package by real git,
// ssh-keygen and gpg (see buildFixture).
var fx *fixture

// fixture is a repository of signed and unsigned commits and tags.
type fixture struct {
	dir string
	// alice is trusted by the test policies, mallory is not.
	alice, mallory sshKey
	// gpgErr says why there is no gpg to make the OpenPGP objects with.
	gpgErr error
	// carolKey is Carol's armored OpenPGP public key, which the test
	// policies trust; dave's is not trusted. carolFpr is her fingerprint.
	carolKey, daveKey []byte
	carolFpr, daveFpr string
	// erinKey expired in 2021; she signed old-pgp-commit in 2020.
	erinKey []byte
	erinFpr string
	// raw objects by name, and commit ids by name.
	raw  map[string][]byte
	shas map[string]string
}

// sshKey is a key pair made by ssh-keygen.
type sshKey struct {
	private string // path
	public  string // "ssh-ed25519 AAAA… comment"
}

func TestMain(m *testing.M) {
	var err error
	fx, err = buildFixture()
	code := 0
	if err != nil {
		fmt.Fprintln(os.Stderr, "signature tests: cannot build the fixture repository:", err)
		code = 1
	} else {
		code = m.Run()
	}
	if fx != nil {
		fx.close()
	}
	os.Exit(code)
}

func (f *fixture) close() {
	if gh := filepath.Join(f.dir, "gnupg"); dirExists(gh) {
		cmd := exec.Command("gpgconf", "--kill", "gpg-agent")
		cmd.Env = append(os.Environ(), "GNUPGHOME="+gh)
		_ = cmd.Run()
	}
	_ = os.RemoveAll(f.dir)
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// needGPG skips a test when there is no gpg to make the OpenPGP objects, unless
// PLUGINDRIFT_REQUIRE_GPG=1 makes that a failure.
func needGPG(t testing.TB) {
	t.Helper()
	if fx.gpgErr == nil {
		return
	}
	if os.Getenv("PLUGINDRIFT_REQUIRE_GPG") == "1" {
		t.Fatalf("PLUGINDRIFT_REQUIRE_GPG=1 but there is no gpg to make the OpenPGP objects with (install gnupg): %v", fx.gpgErr)
	}
	t.Skipf("no gpg to make the OpenPGP objects with (install gnupg to run this test): %v", fx.gpgErr)
}

// buildFixture makes the repository. A short temporary path keeps
// gpg-agent's socket path within its limit.
func buildFixture() (*fixture, error) {
	dir, err := os.MkdirTemp("", "pdsig")
	if err != nil {
		return nil, err
	}
	f := &fixture{dir: dir, raw: map[string][]byte{}, shas: map[string]string{}}
	if err := f.build(); err != nil {
		f.close()
		return nil, err
	}
	return f, nil
}

func (f *fixture) env() []string {
	date := fmt.Sprintf("%d +0000", committedAt.Unix())
	return append(os.Environ(),
		"HOME="+f.dir, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GNUPGHOME="+filepath.Join(f.dir, "gnupg"),
		"GIT_AUTHOR_NAME=Test Author", "GIT_AUTHOR_EMAIL=author@example.com", "GIT_AUTHOR_DATE="+date,
		"GIT_COMMITTER_NAME=Test Committer", "GIT_COMMITTER_EMAIL=committer@example.com", "GIT_COMMITTER_DATE="+date,
	)
}

// run runs a command in the repository and returns its trimmed output.
func (f *fixture) run(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = filepath.Join(f.dir, "repo")
	cmd.Env = f.env()
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(out.String()), nil
}

// git runs git with the given -c settings first.
func (f *fixture) git(args ...string) (string, error) { return f.run("git", args...) }

func (f *fixture) newSSHKey(name string) (sshKey, error) {
	path := filepath.Join(f.dir, name)
	if _, err := f.run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name+"@example.com", "-f", path); err != nil {
		return sshKey{}, err
	}
	pub, err := os.ReadFile(path + ".pub")
	return sshKey{private: path, public: strings.TrimSpace(string(pub))}, err
}

// commit makes an empty commit with the signing arguments given and
// records its raw object under name.
func (f *fixture) commit(name string, sign ...string) error {
	args := append(append([]string{}, sign...), "commit", "-q", "--allow-empty", "-m", name)
	if len(sign) > 0 {
		args = append(args, "-S")
	}
	if _, err := f.git(args...); err != nil {
		return err
	}
	sha, err := f.git("rev-parse", "HEAD")
	if err != nil {
		return err
	}
	f.shas[name] = sha
	return f.catFile(name, "commit", sha)
}

// tag makes an annotated tag of the named commit (signed when sign is
// given) and records its raw object under the tag's name.
func (f *fixture) tag(tagName, commit string, sign ...string) error {
	args := append(append([]string{}, sign...), "tag", "-m", "release "+tagName)
	if len(sign) > 0 {
		args = append(args, "-s")
	} else {
		args = append(args, "-a")
	}
	if _, err := f.git(append(args, tagName, f.shas[commit])...); err != nil {
		return err
	}
	return f.catFile(tagName, "tag", tagName)
}

func (f *fixture) catFile(name, kind, obj string) error {
	cmd := exec.Command("git", "cat-file", kind, obj)
	cmd.Dir = filepath.Join(f.dir, "repo")
	cmd.Env = f.env()
	out, err := cmd.Output()
	f.raw[name] = out
	return err
}

func sshSigning(k sshKey) []string {
	return []string{"-c", "gpg.format=ssh", "-c", "user.signingkey=" + k.private}
}

func gpgSigning(fpr string) []string {
	return []string{"-c", "gpg.format=openpgp", "-c", "gpg.program=gpg", "-c", "user.signingkey=" + fpr}
}

func (f *fixture) build() error {
	if err := os.Mkdir(filepath.Join(f.dir, "repo"), 0o700); err != nil {
		return err
	}
	if _, err := f.git("init", "-q", "-b", "main"); err != nil {
		return err
	}
	var err error
	if f.alice, err = f.newSSHKey("alice"); err != nil {
		return err
	}
	if f.mallory, err = f.newSSHKey("mallory"); err != nil {
		return err
	}
	steps := []func() error{
		func() error { return f.commit("ssh-commit", sshSigning(f.alice)...) },
		func() error { return f.tag("v1.0.0", "ssh-commit", sshSigning(f.alice)...) },
		func() error { return f.tag("v1.0.0-unsigned", "ssh-commit") },
		func() error { return f.tag("v1.0.0-mallory", "ssh-commit", sshSigning(f.mallory)...) },
		func() error { return f.commit("unsigned-commit") },
		func() error { return f.tag("v1.1.0", "unsigned-commit") },
		func() error { return f.tag("v1.1.0-alice", "unsigned-commit", sshSigning(f.alice)...) },
		func() error { return f.tag("v1.1.0-mallory", "unsigned-commit", sshSigning(f.mallory)...) },
		func() error { return f.commit("mallory-commit", sshSigning(f.mallory)...) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	if _, f.gpgErr = exec.LookPath("gpg"); f.gpgErr != nil {
		return nil
	}
	return f.buildOpenPGP()
}

// buildOpenPGP makes Carol's and Dave's keys in a throwaway GnuPG home
// and the objects they sign.
func (f *fixture) buildOpenPGP() error {
	if err := os.Mkdir(filepath.Join(f.dir, "gnupg"), 0o700); err != nil {
		return err
	}
	key := func(uid, expire string, gen ...string) (fpr string, armored []byte, err error) {
		if _, err = f.run("gpg", append(gen, "--batch", "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", expire)...); err != nil {
			return "", nil, err
		}
		out, err := f.run("gpg", "--batch", "--with-colons", "--list-keys", uid)
		if err != nil {
			return "", nil, err
		}
		for _, line := range strings.Split(out, "\n") {
			if fields := strings.Split(line, ":"); fields[0] == "fpr" && fpr == "" {
				fpr = fields[9]
			}
		}
		pub, err := f.run("gpg", "--batch", "--armor", "--export", fpr)
		return fpr, []byte(pub + "\n"), err
	}
	var err error
	if f.carolFpr, f.carolKey, err = key("Carol <carol@example.com>", "never"); err != nil {
		return err
	}
	if f.daveFpr, f.daveKey, err = key("Dave <dave@example.com>", "never"); err != nil {
		return err
	}
	if err := f.commit("pgp-commit", gpgSigning(f.carolFpr)...); err != nil {
		return err
	}
	if err := f.tag("v2.0.0", "pgp-commit", gpgSigning(f.carolFpr)...); err != nil {
		return err
	}
	if err := f.commit("dave-commit", gpgSigning(f.daveFpr)...); err != nil {
		return err
	}
	return f.buildExpiredOpenPGP(key)
}

// buildExpiredOpenPGP makes Erin's key as if in 2020, valid for a year,
// and a commit she signed in 2020: the key has expired since.
func (f *fixture) buildExpiredOpenPGP(key func(uid, expire string, gen ...string) (string, []byte, error)) error {
	var err error
	if f.erinFpr, f.erinKey, err = key("Erin <erin@example.com>", "1y", "--faked-system-time", "20200101T000000!"); err != nil {
		return err
	}
	wrapper := filepath.Join(f.dir, "gpg-2020")
	script := "#!/bin/sh\nexec gpg --faked-system-time 20200601T000000! \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o700); err != nil {
		return err
	}
	return f.commit("old-pgp-commit", "-c", "gpg.format=openpgp", "-c", "gpg.program="+wrapper, "-c", "user.signingkey="+f.erinFpr)
}

// objectReader hands over fixed objects and counts its calls.
type objectReader struct {
	objs  resolver.Objects
	err   error
	calls int
}

func (r *objectReader) ReadObjects(_ context.Context, _ tracking.Source, _ tracking.Ref, _ resolver.Result) (resolver.Objects, error) {
	r.calls++
	return r.objs, r.err
}

// mustSource parses a source for a test.
func mustSource(t testing.TB, s string) tracking.Source {
	t.Helper()
	src, err := tracking.ParseSource(s)
	require.NoError(t, err)
	return src
}

// mustRef parses a ref for a test.
func mustRef(t testing.TB, s string) tracking.Ref {
	t.Helper()
	ref, err := tracking.ParseRef(s)
	require.NoError(t, err)
	return ref
}

// tamper returns a copy of raw with the first old replaced by new, which
// must be there.
func tamper(t testing.TB, raw []byte, old, new string) []byte {
	t.Helper()
	require.Contains(t, string(raw), old)
	return bytes.Replace(bytes.Clone(raw), []byte(old), []byte(new), 1)
}
