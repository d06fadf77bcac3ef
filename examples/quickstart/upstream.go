package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// upstream is a plugin's git repository: a work tree the story edits and a
// bare repository served over smart HTTP, as a real forge would serve it.
type upstream struct {
	git  string
	work string
	bare string
	date time.Time // commit dates advance a minute per commit
}

func newUpstream(ctx context.Context, dir, name string) (*upstream, error) {
	gitPath, err := exec.LookPath("git")
	if err != nil {
		return nil, fmt.Errorf("the quickstart needs git on PATH (Debian: apt-get install git): %w", err)
	}
	u := &upstream{
		git:  gitPath,
		work: filepath.Join(dir, "work", name),
		bare: filepath.Join(dir, "served", name+".git"),
		date: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC),
	}
	for _, args := range [][]string{
		{"init", "-q", "-b", "main", u.work},
		{"init", "-q", "--bare", u.bare},
	} {
		if _, err := u.run(ctx, "", args...); err != nil {
			return nil, err
		}
	}
	if _, err := u.run(ctx, u.work, "remote", "add", "origin", u.bare); err != nil {
		return nil, err
	}
	return u, nil
}

func (u *upstream) run(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, u.git, args...)
	cmd.Dir = dir
	date := u.date.Format(time.RFC3339)
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "LC_ALL=C",
		"GIT_AUTHOR_NAME=Plugin Author", "GIT_AUTHOR_EMAIL=author@example.com", "GIT_AUTHOR_DATE="+date,
		"GIT_COMMITTER_NAME=Plugin Author", "GIT_COMMITTER_EMAIL=author@example.com", "GIT_COMMITTER_DATE="+date,
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// commit writes files, commits them on the current branch and returns the
// commit id.
func (u *upstream) commit(ctx context.Context, msg string, files map[string]string) (string, error) {
	u.date = u.date.Add(time.Minute)
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(u.work, name), []byte(body), 0o644); err != nil {
			return "", err
		}
	}
	if _, err := u.run(ctx, u.work, "add", "-A"); err != nil {
		return "", err
	}
	if _, err := u.run(ctx, u.work, "commit", "-q", "-m", msg); err != nil {
		return "", err
	}
	return u.run(ctx, u.work, "rev-parse", "HEAD")
}

// tag creates (or, with force, re-points) an annotated tag at commit and
// publishes it.
func (u *upstream) tag(ctx context.Context, name, commit string, force bool) error {
	args := []string{"tag", "-a", "-m", "release " + name, name, commit}
	push := []string{"push", "-q", "origin", "refs/tags/" + name}
	if force {
		args = append(args[:1], append([]string{"-f"}, args[1:]...)...)
		push = append(push[:2], append([]string{"--force"}, push[2:]...)...)
	}
	if _, err := u.run(ctx, u.work, args...); err != nil {
		return err
	}
	_, err := u.run(ctx, u.work, push...)
	return err
}

func (u *upstream) pushMain(ctx context.Context) error {
	_, err := u.run(ctx, u.work, "push", "-q", "origin", "main")
	return err
}

// serve serves the bare repositories over git's smart HTTP protocol on a
// loopback port and returns the base URL and a function that stops it.
func (u *upstream) serve() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{
		Handler: &cgi.Handler{
			Path: u.git,
			Args: []string{"http-backend"},
			Env: []string{
				"GIT_PROJECT_ROOT=" + filepath.Dir(u.bare),
				"GIT_HTTP_EXPORT_ALL=1",
				"GIT_CONFIG_NOSYSTEM=1",
				"GIT_CONFIG_GLOBAL=/dev/null",
			},
		},
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}
