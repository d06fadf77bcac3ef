package fakegithub

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// Repo builds a bare fixture repository with the git command line. Commit
// ids are deterministic: they depend only on the sequence of calls.
type Repo struct {
	// Dir is the bare repository's directory.
	Dir     string
	commits int
}

// InitRepo creates an empty bare SHA-1 repository at dir whose HEAD names
// defaultBranch.
func InitRepo(dir, defaultBranch string) (*Repo, error) {
	cmd := exec.Command("git", "init", "--quiet", "--bare", "--object-format=sha1", "--initial-branch="+defaultBranch, "--", dir)
	cmd.Env = gitEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("fakegithub: git init %s: %w: %s", dir, err, out)
	}
	return &Repo{Dir: dir}, nil
}

// Commit adds a commit holding one file, README, with message as content,
// on top of branch (creating the branch when missing), and returns its id.
func (r *Repo) Commit(branch, message string) (string, error) {
	blob, err := r.gitIn(message, "hash-object", "-w", "--stdin")
	if err != nil {
		return "", err
	}
	tree, err := r.gitIn("100644 blob "+blob+"\tREADME\n", "mktree")
	if err != nil {
		return "", err
	}
	args := []string{"commit-tree", tree, "-m", message}
	if parent, err := r.git("rev-parse", "--verify", "--quiet", "refs/heads/"+branch); err == nil {
		args = append(args, "-p", parent)
	}
	r.commits++
	sha, err := r.gitIn("", args...)
	if err != nil {
		return "", err
	}
	if _, err := r.git("update-ref", "refs/heads/"+branch, sha); err != nil {
		return "", err
	}
	return sha, nil
}

// Tag points the lightweight tag name at target, replacing any tag of that
// name.
func (r *Repo) Tag(name, target string) error {
	_, err := r.git("update-ref", "refs/tags/"+name, target)
	return err
}

// AnnotatedTag points an annotated tag name at target, replacing any tag of
// that name, and returns the tag object's own id (not the commit's).
func (r *Repo) AnnotatedTag(name, target string) (string, error) {
	if _, err := r.git("tag", "--force", "--annotate", "--message", "release "+name, "--", name, target); err != nil {
		return "", err
	}
	return r.git("rev-parse", "--verify", "refs/tags/"+name)
}

// Tags creates many lightweight tags at once: name → target.
func (r *Repo) Tags(targets map[string]string) error {
	var b strings.Builder
	for name, target := range targets {
		fmt.Fprintf(&b, "update refs/tags/%s %s\n", name, target)
	}
	_, err := r.gitIn(b.String(), "update-ref", "--stdin")
	return err
}

// SetDefaultBranch points HEAD at branch.
func (r *Repo) SetDefaultBranch(branch string) error {
	_, err := r.git("symbolic-ref", "HEAD", "refs/heads/"+branch)
	return err
}

func (r *Repo) git(args ...string) (string, error) { return r.gitIn("", args...) }

func (r *Repo) gitIn(stdin string, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-C", r.Dir}, args...)...)
	date := strconv.Itoa(1700000000+r.commits*60) + " +0000"
	cmd.Env = append(gitEnv(),
		"GIT_AUTHOR_NAME=Fixture", "GIT_AUTHOR_EMAIL=fixture@example.com", "GIT_AUTHOR_DATE="+date,
		"GIT_COMMITTER_NAME=Fixture", "GIT_COMMITTER_EMAIL=fixture@example.com", "GIT_COMMITTER_DATE="+date,
	)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = strings.TrimSpace(string(ee.Stderr))
		}
		return "", fmt.Errorf("fakegithub: git %s: %w: %s", strings.Join(args, " "), err, msg)
	}
	return strings.TrimSpace(string(out)), nil
}
