package resolvertest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Names of the fixture repositories.
const (
	// RepoPlugin has branches main (the default), dev, feature/x and two
	// trap branches whose names end in "refs/heads/main" and
	// "refs/tags/v1.2.0"; lightweight and annotated semver tags (v0.9.0,
	// v1.0.0, v1.2.0, v1.9.0, v1.10.0, v1.10.0+build.1, 2.0.0-rc.1) and
	// tags that are not versions (latest, nightly, release-2024, v3.0, v4,
	// 5.0.0.1) on the newest commit.
	RepoPlugin = "plugin"
	// RepoTrunk's default branch is trunk; it also has a main branch.
	RepoTrunk = "trunk"
	// RepoEmpty has no commits.
	RepoEmpty = "empty"
	// RepoMissing is never created.
	RepoMissing = "missing"
)

// Fixture identities and clock: every run builds the same commits, so the
// same SHAs.
const (
	fixtureIdent = "Fixture <fixture@plugindrift.invalid>"
	fixtureEpoch = 1704067200 // 2024-01-01T00:00:00Z
)

// Repos is a directory of bare fixture repositories, built with real git.
// The suite changes them while it runs (it moves a tag, deletes a branch),
// so a harness must read them live, not copy them.
//
// The expected answers (SHA, TagObject, DefaultBranch) are what the builder
// recorded while it wrote the repositories, never what a resolver said.
// Methods are safe for concurrent use.
type Repos struct {
	dir string

	mu      sync.Mutex
	refs    map[string]map[string]fixtureRef // repo → full ref name → what it points at
	heads   map[string]string                // repo → default branch
	commits int                              // commits written so far: the fixture clock
}

type fixtureRef struct {
	commit    string // the commit, peeled
	tagObject string // the annotated tag object, "" for branches and lightweight tags
}

// NewRepos builds the fixture repositories (RepoPlugin, RepoTrunk,
// RepoEmpty) in a new temporary directory of t. It fails t when git is
// missing or fails.
func NewRepos(t testing.TB) *Repos {
	t.Helper()
	r := &Repos{
		dir:   t.TempDir(),
		refs:  map[string]map[string]fixtureRef{},
		heads: map[string]string{},
	}

	p := r.newStream()
	m1 := p.commit("refs/heads/main", "", "v0.9.0")
	m2 := p.commit("refs/heads/main", m1, "v1.0.0")
	m3 := p.commit("refs/heads/main", m2, "v1.2.0")
	m4 := p.commit("refs/heads/main", m3, "v1.9.0")
	m5 := p.commit("refs/heads/main", m4, "v1.10.0")
	m6 := p.commit("refs/heads/main", m5, "v1.10.0+build.1")
	m7 := p.commit("refs/heads/main", m6, "2.0.0-rc.1")
	m8 := p.commit("refs/heads/main", m7, "nightly")
	p.lightweight("v0.9.0", m1)
	p.lightweight("v1.0.0", m2)
	p.annotated("v1.2.0", m3)
	p.lightweight("v1.9.0", m4)
	p.lightweight("v1.10.0", m5)
	p.annotated("v1.10.0+build.1", m6)
	p.annotated("2.0.0-rc.1", m7)
	for _, tag := range []string{"latest", "nightly", "v3.0", "v4", "5.0.0.1"} {
		p.lightweight(tag, m8)
	}
	p.annotated("release-2024", m8)
	d1 := p.commit("refs/heads/dev", m3, "dev 1")
	p.commit("refs/heads/dev", d1, "dev 2")
	p.commit("refs/heads/feature/x", m2, "feature x")
	// ls-remote patterns match ref name tails: these two answer a query
	// for refs/heads/main or refs/tags/v1.2.0 unless it is filtered.
	p.commit("refs/heads/trap/refs/heads/main", m1, "trap main")
	p.commit("refs/heads/trap/refs/tags/v1.2.0", m1, "trap tag")
	r.create(t, RepoPlugin, "main", p)

	k := r.newStream()
	k1 := k.commit("refs/heads/trunk", "", "trunk 1")
	k.commit("refs/heads/trunk", k1, "trunk 2")
	k.commit("refs/heads/main", k1, "main 1")
	r.create(t, RepoTrunk, "trunk", k)

	r.create(t, RepoEmpty, "main", nil)
	return r
}

// Dir is the directory holding the repositories, one bare repository per
// name, at Dir()/<name>.git.
func (r *Repos) Dir() string { return r.dir }

// Path returns the path of the bare repository called name.
func (r *Repos) Path(name string) string { return r.dir + "/" + name + ".git" }

// SHA returns the commit that the full ref name (refs/heads/main,
// refs/tags/v1.2.0) of repo points at, peeled, as the builder recorded it;
// "" when repo has no such ref.
func (r *Repos) SHA(repo, ref string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.refs[repo][ref].commit
}

// TagObject returns the id of the annotated tag object of tag (a short
// name) in repo; "" for a lightweight or missing tag. A resolver must never
// return it as a SHA.
func (r *Repos) TagObject(repo, tag string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.refs[repo]["refs/tags/"+tag].tagObject
}

// DefaultBranch returns the branch repo's HEAD names ("main", "trunk").
func (r *Repos) DefaultBranch(repo string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.heads[repo]
}

// Commit adds a commit on top of branch of repo and returns its SHA.
func (r *Repos) Commit(t testing.TB, repo, branch string) string {
	t.Helper()
	full := "refs/heads/" + branch
	parent := r.SHA(repo, full)
	if parent == "" {
		t.Fatalf("resolvertest: %s has no branch %q", repo, branch)
	}
	s := r.newStream()
	s.commit(full, parent, "more on "+branch)
	r.apply(t, repo, s)
	return r.SHA(repo, full)
}

// MoveTag re-points tag of repo at a new commit on top of its current one,
// keeping it lightweight or annotated, and returns the new commit's SHA.
func (r *Repos) MoveTag(t testing.TB, repo, tag string) string {
	t.Helper()
	full := "refs/tags/" + tag
	r.mu.Lock()
	old, ok := r.refs[repo][full]
	r.mu.Unlock()
	if !ok {
		t.Fatalf("resolvertest: %s has no tag %q", repo, tag)
	}
	s := r.newStream()
	c := s.commit("refs/heads/resolvertest-moved-"+tag, old.commit, "moved "+tag)
	if old.tagObject != "" {
		s.annotated(tag, c)
	} else {
		s.lightweight(tag, c)
	}
	// The helper branch only carried the commit; the tag keeps it reachable.
	s.remove("refs/heads/resolvertest-moved-" + tag)
	r.apply(t, repo, s)
	return r.SHA(repo, full)
}

// AddTag creates tag (annotated or lightweight) of repo on the tip of
// branch and returns the commit's SHA.
func (r *Repos) AddTag(t testing.TB, repo, tag, branch string, annotated bool) string {
	t.Helper()
	tip := r.SHA(repo, "refs/heads/"+branch)
	if tip == "" {
		t.Fatalf("resolvertest: %s has no branch %q", repo, branch)
	}
	if r.SHA(repo, "refs/tags/"+tag) != "" {
		t.Fatalf("resolvertest: %s already has tag %q", repo, tag)
	}
	s := r.newStream()
	if annotated {
		s.annotated(tag, tip)
	} else {
		s.lightweight(tag, tip)
	}
	r.apply(t, repo, s)
	return r.SHA(repo, "refs/tags/"+tag)
}

// DeleteBranch deletes branch of repo.
func (r *Repos) DeleteBranch(t testing.TB, repo, branch string) {
	t.Helper()
	full := "refs/heads/" + branch
	if r.SHA(repo, full) == "" {
		t.Fatalf("resolvertest: %s has no branch %q", repo, branch)
	}
	s := r.newStream()
	s.remove(full)
	r.apply(t, repo, s)
}

// create makes the bare repository name with HEAD on defaultBranch and
// writes s (nil: no commits) into it.
func (r *Repos) create(t testing.TB, name, defaultBranch string, s *stream) {
	t.Helper()
	git(t, "", nil, "init", "--quiet", "--bare", "--initial-branch="+defaultBranch, r.Path(name))
	r.mu.Lock()
	r.heads[name] = defaultBranch
	r.refs[name] = map[string]fixtureRef{}
	r.mu.Unlock()
	if s != nil {
		r.apply(t, name, s)
	}
}

// apply runs s through git fast-import in repo, deletes the refs s
// removes, and records the ids git assigned to s's marks.
func (r *Repos) apply(t testing.TB, repo string, s *stream) {
	t.Helper()
	marks := filepath.Join(t.TempDir(), "marks")
	git(t, r.Path(repo), strings.NewReader(s.b.String()), "fast-import", "--quiet", "--force", "--export-marks="+marks)
	ids := readMarks(t, marks)
	for _, ref := range s.removed {
		git(t, r.Path(repo), nil, "update-ref", "-d", ref)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	for _, u := range s.updates {
		fr := fixtureRef{commit: u.commit}
		if strings.HasPrefix(u.commit, ":") {
			fr.commit = ids[u.commit]
		}
		if u.tagMark != "" {
			fr.tagObject = ids[u.tagMark]
		}
		r.refs[repo][u.ref] = fr
	}
	for _, ref := range s.removed {
		delete(r.refs[repo], ref)
	}
}

func readMarks(t testing.TB, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("resolvertest: read fast-import marks: %v", err)
	}
	ids := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		mark, id, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			t.Fatalf("resolvertest: malformed marks line %q", sc.Text())
		}
		ids[mark] = id
	}
	return ids
}

// stream is a git fast-import stream under construction. Commits and tags
// are named by marks (":3") until git assigns ids; a commit's parent may be
// a mark or a full SHA.
type stream struct {
	repos   *Repos
	b       strings.Builder
	marks   int
	updates []refUpdate
	removed []string
}

type refUpdate struct {
	ref     string
	commit  string // mark or SHA of the commit
	tagMark string // mark of the annotated tag object
}

func (r *Repos) newStream() *stream { return &stream{repos: r} }

func (s *stream) mark() string {
	s.marks++
	return fmt.Sprintf(":%d", s.marks)
}

// when returns the next tick of the fixture clock.
func (s *stream) when() string {
	s.repos.mu.Lock()
	s.repos.commits++
	n := s.repos.commits
	s.repos.mu.Unlock()
	return fmt.Sprintf("%s %d +0000", fixtureIdent, fixtureEpoch+int64(n)*3600)
}

func (s *stream) data(text string) {
	fmt.Fprintf(&s.b, "data %d\n%s\n", len(text), text)
}

// commit writes a commit on ref with parent (a mark, a SHA or "" for a
// root commit) and returns its mark. Each commit changes CHANGELOG.md, so
// every commit has its own tree; the root commit also writes a README, a
// script and a nested file.
func (s *stream) commit(ref, parent, message string) string {
	blob := s.mark()
	s.b.WriteString("blob\nmark " + blob + "\n")
	s.data("# Changelog\n\n- " + message + "\n")
	m := s.mark()
	when := s.when()
	fmt.Fprintf(&s.b, "commit %s\nmark %s\nauthor %s\ncommitter %s\n", ref, m, when, when)
	s.data(message)
	if parent != "" {
		s.b.WriteString("from " + parent + "\n")
	} else {
		s.inline("100644", "README.md", "# Fixture plugin\n")
		s.inline("100755", "bin/run.sh", "#!/bin/sh\necho fixture\n")
		s.inline("100644", "lib/nested/plugin.json", "{\"name\": \"fixture\"}\n")
	}
	s.b.WriteString("M 100644 " + blob + " CHANGELOG.md\n\n")
	s.updates = append(s.updates, refUpdate{ref: ref, commit: m})
	return m
}

func (s *stream) inline(mode, path, content string) {
	fmt.Fprintf(&s.b, "M %s inline %s\n", mode, path)
	s.data(content)
}

// lightweight points refs/tags/<tag> at commit (a mark or a SHA).
func (s *stream) lightweight(tag, commit string) {
	fmt.Fprintf(&s.b, "reset refs/tags/%s\nfrom %s\n\n", tag, commit)
	s.updates = append(s.updates, refUpdate{ref: "refs/tags/" + tag, commit: commit})
}

// annotated writes an annotated tag object for commit (a mark or a SHA).
func (s *stream) annotated(tag, commit string) {
	m := s.mark()
	fmt.Fprintf(&s.b, "tag %s\nmark %s\nfrom %s\ntagger %s\n", tag, m, commit, s.when())
	s.data("release " + tag)
	s.updates = append(s.updates, refUpdate{ref: "refs/tags/" + tag, commit: commit, tagMark: m})
}

// remove deletes ref after the stream is imported.
func (s *stream) remove(ref string) { s.removed = append(s.removed, ref) }

// git runs the fixture builder's git commands, in gitDir when set, without
// the host's git configuration.
func git(t testing.TB, gitDir string, stdin *strings.Reader, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Env = append(hostEnv(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "LC_ALL=C")
	if gitDir != "" {
		cmd.Env = append(cmd.Env, "GIT_DIR="+gitDir)
	}
	if stdin != nil {
		cmd.Stdin = stdin
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("resolvertest: git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// hostEnv is the environment of the test process without its GIT_*
// variables (a test run from a git hook has GIT_DIR set, say).
func hostEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") {
			env = append(env, kv)
		}
	}
	return env
}
