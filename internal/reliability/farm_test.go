package reliability_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/resolver/resolvertest"
	"github.com/plugindrift/plugindrift/tracking"
)

// farm is a set of bare git repositories p000, p001, … served over git's
// smart HTTP protocol on loopback. The test moves them and records every
// commit and tag it writes, so the expected answer for each ref is what
// the farm wrote, never what a resolver said.
//
// Repository i is followed at branch:main when i is even and at tag:latest
// when it is odd. Every repository starts with one commit tagged v1.0.0.
type farm struct {
	t   testing.TB
	dir string
	// backend is the smart HTTP server's base URL.
	backend string

	mu    sync.Mutex
	url   string // where sources point: backend, or a proxy in front of it
	repos []*farmRepo
	clock int // commits written: the commit timestamps
}

type farmRepo struct {
	name   string
	first  string // the first commit, tagged v1.0.0
	tip    string // refs/heads/main
	latest string // the commit of the highest tag
	minor  int    // the highest tag is v1.<minor>.0
}

// newFarm builds n repositories and serves them until t ends.
func newFarm(t testing.TB, n int) *farm {
	t.Helper()
	f := &farm{t: t, dir: t.TempDir()}
	for i := range n {
		r := &farmRepo{name: fmt.Sprintf("p%03d", i)}
		dir := f.path(r)
		cmd := exec.Command("git", "init", "--quiet", "--bare", "--initial-branch=main", "--", dir)
		cmd.Env = gitEnv()
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git init: %s", out)
		f.repos = append(f.repos, r)
		r.first = f.commit(r, "v1.0.0")
	}
	f.backend = resolvertest.ServeSmartHTTP(t, f.dir)
	f.url = f.backend
	return f
}

func (f *farm) path(r *farmRepo) string { return filepath.Join(f.dir, r.name+".git") }

func (f *farm) len() int { return len(f.repos) }

// setURL makes sources point at base (a proxy in front of the backend).
func (f *farm) setURL(base string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.url = base
}

func (f *farm) name(i int) string { return f.repos[i].name }

func (f *farm) first(i int) string { return f.repos[i].first }

// source is the raw source of repository i.
func (f *farm) source(i int) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return "git+" + f.url + "/" + f.repos[i].name + ".git"
}

// ref is the ref repository i is followed at.
func (f *farm) ref(i int) string {
	if i%2 == 0 {
		return "branch:main"
	}
	return "tag:latest"
}

// key is repository i's upstream key, canonical as the store keeps it.
func (f *farm) key(i int) tracking.UpstreamKey {
	src, err := tracking.ParseSource(f.source(i))
	require.NoError(f.t, err)
	ref, err := tracking.ParseRef(f.ref(i))
	require.NoError(f.t, err)
	return tracking.UpstreamKey{Source: src, Ref: ref}
}

// want is the commit repository i's ref points at now.
func (f *farm) want(i int) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.repos[i]
	if i%2 == 0 {
		return r.tip
	}
	return r.latest
}

// move adds a commit on main of repository i and, when tag is set, tags it
// as the next minor version. It returns the new commit.
func (f *farm) move(i int, tag bool) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.repos[i]
	name := ""
	if tag {
		name = fmt.Sprintf("v1.%d.0", r.minor+1)
	}
	sha := f.commit(r, name)
	if tag {
		r.minor++
		r.latest = sha
	}
	return sha
}

// commit writes one commit on main of r with git fast-import (one process
// per commit, whatever the farm's size), tagged tag unless it is empty.
// The caller holds f.mu, or owns f alone.
func (f *farm) commit(r *farmRepo, tag string) string {
	f.clock++
	msg := fmt.Sprintf("%s commit %d", r.name, f.clock)
	var in bytes.Buffer
	fmt.Fprintf(&in, "commit refs/heads/main\nmark :1\ncommitter Fixture <fixture@plugindrift.invalid> %d +0000\n", 1704067200+f.clock)
	fmt.Fprintf(&in, "data %d\n%s\n", len(msg), msg)
	if r.tip != "" {
		fmt.Fprintf(&in, "from %s\n", r.tip)
	}
	fmt.Fprintf(&in, "M 644 inline README\ndata %d\n%s\n\nget-mark :1\n", len(msg), msg)
	if tag != "" {
		fmt.Fprintf(&in, "reset refs/tags/%s\nfrom :1\n\n", tag)
	}
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir = f.path(r)
	cmd.Env = gitEnv()
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(f.t, err, "git fast-import in %s: %s", r.name, stderr.String())
	sha := strings.TrimSpace(string(out))
	require.NoError(f.t, tracking.ValidateSHA(sha), "git fast-import printed %q", out)
	r.tip = sha
	if tag != "" && r.latest == "" {
		r.latest = sha
	}
	return sha
}

// gitEnv isolates the farm's git from the user's and the system's
// configuration.
func gitEnv() []string {
	return append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull, "LC_ALL=C")
}
