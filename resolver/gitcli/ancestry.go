package gitcli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/tracking"
)

// historyTipRef keeps the last tip fetched into a history clone reachable,
// so the next fetch sends only what is new.
const historyTipRef = "refs/plugindrift/tip"

// historyCache is where the treeless clones of Config.HistoryCacheDir live:
// <dir>/<hash of the remote URL>, one per upstream repository. Calls on one
// clone take its lock, so concurrent sweeps of this process never run two
// gits in one repository.
type historyCache struct {
	dir   string    // absolute; "" when force-push detection is off
	locks *sync.Map // clone directory → *sync.Mutex
}

func newHistoryCache(dir string) (historyCache, error) {
	if dir == "" {
		return historyCache{}, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return historyCache{}, fmt.Errorf("gitcli: Config.HistoryCacheDir %s: %v: %w", redact.Quote(dir), err, tracking.ErrInvalidArgument)
	}
	return historyCache{dir: abs, locks: &sync.Map{}}, nil
}

// clone returns the directory of remote's clone.
func (h historyCache) clone(remote string) string {
	sum := sha256.Sum256([]byte(remote))
	return filepath.Join(h.dir, hex.EncodeToString(sum[:16]))
}

// lock takes the lock of the clone at repo and returns its release.
func (h historyCache) lock(repo string) func() {
	m, _ := h.locks.LoadOrStore(repo, &sync.Mutex{})
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// NotAncestors implements resolver.AncestryChecker with a treeless partial
// clone of the source in Config.HistoryCacheDir (git fetch
// --filter=tree:0: commits only, no trees or files, bounded by
// Config.MaxFetchBytes, with the credentials of Config.Credentials like
// Resolve and Fetch) and git merge-base --is-ancestor. The clone is
// made on the first call for a repository; later calls fetch only when
// tip is not in it yet, and then only the commits that are new. A commit
// that is not in the clone once tip's whole history is (unknown, or left
// behind by a force-push and never fetched) is not an ancestor.
//
// It returns resolver.ErrUnsupported when Config.HistoryCacheDir is not
// set, an error wrapping tracking.ErrInvalidSHA for a tip or sha that
// is not a full commit id (before running git), and resolver.ErrNotFound
// when the remote does not have tip.
func (r *Resolver) NotAncestors(ctx context.Context, source tracking.Source, tip string, shas []string) ([]string, error) {
	if r.history.dir == "" {
		return nil, fmt.Errorf("gitcli: force-push detection is off; set Config.HistoryCacheDir to turn it on: %w", resolver.ErrUnsupported)
	}
	if err := tracking.ValidateSHAs(append([]string{tip}, shas...)...); err != nil {
		return nil, fmt.Errorf("gitcli: ancestry: %w", err)
	}
	up, err := r.remote(source)
	if err != nil {
		return nil, err
	}
	remote := up.url
	repo := r.history.clone(remote)
	defer r.history.lock(repo)()
	if err := r.openHistory(ctx, repo, remote); err != nil {
		return nil, err
	}

	have, err := r.present(ctx, repo, remote, tip)
	if err != nil {
		return nil, err
	}
	if !have[tip] {
		if err := r.boundedFetch(ctx, up, repo, "--no-tags", "--no-write-fetch-head", "--filter=tree:0", "--", "origin", "+"+tip+":"+historyTipRef); err != nil {
			return nil, err
		}
	}
	if have, err = r.present(ctx, repo, remote, shas...); err != nil {
		return nil, err
	}
	var out []string
	for _, s := range shas {
		if !have[s] {
			out = append(out, s)
			continue
		}
		_, err := r.git.Run(ctx, repo, "merge-base", "--is-ancestor", s, tip)
		var ce *CommandError
		switch {
		case err == nil:
		case errors.As(err, &ce) && ce.ExitCode == 1:
			out = append(out, s)
		default:
			return nil, fmt.Errorf("gitcli: ancestry %s: %w", remote, err)
		}
	}
	return out, nil
}

// openHistory makes the clone at repo when it does not exist yet: an empty
// repository whose origin is remote, configured as a partial clone (so a
// filtered fetch is allowed) that writes a commit graph on every fetch
// (so merge-base walks generation numbers, not commits). It is made in a
// temporary directory and renamed into place, so a crash never leaves a
// half-configured clone.
func (r *Resolver) openHistory(ctx context.Context, repo, remote string) error {
	if _, err := os.Stat(filepath.Join(repo, ".git")); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("gitcli: history cache: %w", err)
	}
	if err := os.MkdirAll(r.history.dir, 0o755); err != nil {
		return fmt.Errorf("gitcli: history cache: %w", err)
	}
	tmp, err := os.MkdirTemp(r.history.dir, ".new-")
	if err != nil {
		return fmt.Errorf("gitcli: history cache: %w", err)
	}
	defer os.RemoveAll(tmp)
	if _, err := r.git.Run(ctx, tmp, "init", "--quiet"); err != nil {
		return fmt.Errorf("gitcli: history cache: init: %w", err)
	}
	for _, kv := range [][2]string{
		{"remote.origin.url", remote},
		{"remote.origin.promisor", "true"},
		{"remote.origin.partialclonefilter", "tree:0"},
		{"extensions.partialClone", "origin"},
		{"fetch.writeCommitGraph", "true"},
		{"gc.auto", "0"},
	} {
		if _, err := r.git.Run(ctx, tmp, "config", "--local", "--", kv[0], kv[1]); err != nil {
			return fmt.Errorf("gitcli: history cache: config %s: %w", kv[0], err)
		}
	}
	if err := os.Rename(tmp, repo); err != nil {
		if _, serr := os.Stat(filepath.Join(repo, ".git")); serr == nil {
			return nil // another process made it first
		}
		return fmt.Errorf("gitcli: history cache: %w", err)
	}
	return nil
}

// present returns which of shas are commits in the clone at repo. It
// never asks the remote for a missing one (a partial clone would, one at
// a time): --missing=allow-any turns that off.
func (r *Resolver) present(ctx context.Context, repo, remote string, shas ...string) (map[string]bool, error) {
	have := map[string]bool{}
	if len(shas) == 0 {
		return have, nil
	}
	args := append([]string{"rev-list", "--missing=allow-any", "--no-walk", "--ignore-missing"}, shas...)
	out, err := r.git.Run(ctx, repo, args...)
	if err != nil {
		return nil, fmt.Errorf("gitcli: ancestry %s: %w", remote, err)
	}
	for line := range strings.SplitSeq(string(out), "\n") {
		if line != "" {
			have[line] = true
		}
	}
	return have, nil
}
