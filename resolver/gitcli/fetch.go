package gitcli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/plugindrift/plugindrift/tracking"
)

// errTooLarge ends a fetch that passes Config.MaxFetchBytes.
var errTooLarge = errors.New("larger than Config.MaxFetchBytes")

// sizePoll is how often Fetch measures what git has downloaded so far.
const sizePoll = 50 * time.Millisecond

// Fetch implements resolver.Fetcher: it writes the tree of commit sha of
// source into dir, without .git. dir must not exist or must be an empty
// directory; its parent is created when missing. A relative dir is taken
// relative to the working directory of the process. The work happens in a
// temporary directory beside dir, renamed into place at the end, so on
// error dir is left as it was and nothing else remains.
//
// sha must be a full lowercase commit id (tracking.ValidateSHA); source is
// validated as in Resolve. The remote must serve a commit by id (git's
// protocol v2 does, as does GitHub); a commit it does not have matches
// resolver.ErrNotFound, and refused credentials resolver.ErrUnauthorized,
// as in Resolve. Fetch fails with an error wrapping
// tracking.ErrInvalidArgument when dir is not empty or when the download
// or the tree exceeds Config.MaxFetchBytes. Submodules are not fetched.
func (r *Resolver) Fetch(ctx context.Context, source tracking.Source, sha, dir string) error {
	if err := tracking.ValidateSHA(sha); err != nil {
		return fmt.Errorf("gitcli: fetch: %w", err)
	}
	up, err := r.remote(source)
	if err != nil {
		return err
	}
	if dir == "" {
		return fmt.Errorf("gitcli: fetch: empty target directory: %w", tracking.ErrInvalidArgument)
	}
	// git runs inside the work tree, so every path from here on is
	// absolute: a relative one would be resolved from there a second time.
	dir, err = filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("gitcli: fetch: target directory: %w", err)
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("gitcli: fetch: target %s is not empty: %w", dir, tracking.ErrInvalidArgument)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("gitcli: fetch: target %s: %w", dir, err)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("gitcli: fetch: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".fetch-")
	if err != nil {
		return fmt.Errorf("gitcli: fetch: %w", err)
	}
	defer os.RemoveAll(tmp)

	work := filepath.Join(tmp, "tree")
	if err := os.Mkdir(work, 0o755); err != nil {
		return fmt.Errorf("gitcli: fetch: %w", err)
	}
	if _, err := r.git.Run(ctx, work, "init", "--quiet"); err != nil {
		return fmt.Errorf("gitcli: fetch: init: %w", err)
	}
	if err := r.download(ctx, up, work, sha); err != nil {
		return err
	}
	if err := r.checkTreeSize(ctx, work, sha); err != nil {
		return err
	}
	if _, err := r.git.Run(ctx, work, "checkout", "--quiet", "--detach", sha, "--"); err != nil {
		return fmt.Errorf("gitcli: fetch: checkout %s: %w", sha, err)
	}
	if err := os.RemoveAll(filepath.Join(work, ".git")); err != nil {
		return fmt.Errorf("gitcli: fetch: %w", err)
	}
	if err := os.Rename(work, dir); err != nil {
		// Not every system renames onto an empty directory: remove it, and
		// put it back if the rename still fails.
		if os.Remove(dir) != nil {
			return fmt.Errorf("gitcli: fetch: %w", err)
		}
		if err := os.Rename(work, dir); err != nil {
			_ = os.Mkdir(dir, 0o755)
			return fmt.Errorf("gitcli: fetch: %w", err)
		}
	}
	return nil
}

// download fetches the one commit into the repository at work.
func (r *Resolver) download(ctx context.Context, up upstream, work, sha string) error {
	return r.boundedFetch(ctx, up, work, "--depth=1", "--no-tags", "--", up.url, sha)
}

// boundedFetch runs "git fetch --quiet <args>" in the repository at work
// with the credentials of up (see remoteCall), stopping git when the
// objects it wrote grow past Config.MaxFetchBytes.
func (r *Resolver) boundedFetch(ctx context.Context, up upstream, work string, args ...string) error {
	objects := filepath.Join(work, ".git", "objects")
	fetchCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		ticker := time.NewTicker(sizePoll)
		defer ticker.Stop()
		for {
			select {
			case <-fetchCtx.Done():
				return
			case <-ticker.C:
				if diskUsage(objects) > r.maxFetch {
					cancel(errTooLarge)
					return
				}
			}
		}
	}()
	_, err := r.remoteCall(fetchCtx, up, work, append([]string{"fetch", "--quiet"}, args...)...)
	cancel(nil)
	<-done
	// The poll stops a large download early; this check makes the limit
	// exact for one that finished between two polls.
	if errors.Is(context.Cause(fetchCtx), errTooLarge) || err == nil && diskUsage(objects) > r.maxFetch {
		return fmt.Errorf("gitcli: fetch %s: download %w (%d bytes): %w", up.url, errTooLarge, r.maxFetch, tracking.ErrInvalidArgument)
	}
	return err
}

// checkTreeSize refuses a commit whose files add up to more than the limit,
// before any of them is written.
func (r *Resolver) checkTreeSize(ctx context.Context, work, sha string) error {
	out, err := r.git.Run(ctx, work, "ls-tree", "-r", "-l", "-z", "--full-tree", sha, "--")
	if err != nil {
		return fmt.Errorf("gitcli: fetch: ls-tree %s: %w", sha, err)
	}
	var total int64
	for entry := range strings.SplitSeq(string(out), "\x00") {
		// "<mode> <type> <object> <size>\t<path>"; size is "-" for submodules.
		meta, _, _ := strings.Cut(entry, "\t")
		fields := strings.Fields(meta)
		if len(fields) != 4 || fields[1] != "blob" {
			continue
		}
		n, err := strconv.ParseInt(fields[3], 10, 64)
		if err != nil {
			return fmt.Errorf("gitcli: fetch: ls-tree %s: size %q: %w", sha, fields[3], err)
		}
		if total += n; total > r.maxFetch {
			return fmt.Errorf("gitcli: fetch: tree of %s %w (%d bytes): %w", sha, errTooLarge, r.maxFetch, tracking.ErrInvalidArgument)
		}
	}
	return nil
}

// diskUsage adds up the sizes of the files under dir; unreadable entries
// count as empty (git is writing them).
func diskUsage(dir string) int64 {
	var total int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if info, err := d.Info(); err == nil && info.Mode().IsRegular() {
			total += info.Size()
		}
		return nil
	})
	return total
}
