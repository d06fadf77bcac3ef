package gitcli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/tracking"
)

// Where ReadObjects keeps what it fetched, so the objects stay reachable
// while it reads them (and, in a history clone, for the next fetch).
const (
	objectsTagRef    = "refs/plugindrift/objects/tag"
	objectsCommitRef = "refs/plugindrift/objects/commit"
)

var _ resolver.ObjectReader = (*Resolver)(nil)

// ReadObjects implements resolver.ObjectReader: it fetches the commit
// res.SHA and, for refs that select a tag (tag:, tag:latest, semver:),
// the tag res.Version, commits only (git fetch --filter=tree:0, no trees
// or files), and returns them as `git cat-file commit` and `git cat-file
// tag` print them. A lightweight tag, a branch and head have no tag
// object (Objects.Tag is nil); Objects.Host is always nil.
//
// With Config.HistoryCacheDir set the objects are fetched into the
// source's history clone (see NotAncestors), under its lock, and a commit
// already there is not fetched again; otherwise into a temporary
// repository with --depth=1, removed before ReadObjects returns. Either
// way the fetch carries Config.Credentials and is bounded by
// Config.MaxFetchBytes, as Fetch's is. A commit is asked for by id; a
// server that sends only the tips of its refs (protocol version 0 without
// uploadpack.allowReachableSHA1InWant) is asked for the branch instead,
// whose tip must then be res.SHA.
//
// git checks every object's hash as it fetches it, and ReadObjects reads
// the commit by its id, so the commit is the one res names. A tag must
// still be the one res names: a lightweight tag must point at res.SHA,
// and an annotated tag object must name res.SHA on its object line and
// res.Version on its tag line; otherwise the tag moved since it was
// resolved (the next sweep sees where it went), or the tag object is
// another tag's, and ReadObjects returns an error saying so.
//
// It returns resolver.ErrUnsupported for a source without an upstream, a
// transport not allowed or an untracked ref; an error wrapping
// tracking.ErrInvalidSHA for a res.SHA that is not a full commit id and
// tracking.ErrInvalidArgument for a tag ref whose res.Version is not a
// tag name (both before running git); resolver.ErrNotFound when the
// commit or the tag is gone; resolver.ErrUnauthorized as Resolve does.
func (r *Resolver) ReadObjects(ctx context.Context, source tracking.Source, ref tracking.Ref, res resolver.Result) (resolver.Objects, error) {
	up, err := r.remote(source)
	if err != nil {
		return resolver.Objects{}, err
	}
	remote := up.url
	if err := tracking.ValidateSHA(res.SHA); err != nil {
		return resolver.Objects{}, fmt.Errorf("gitcli: objects of %s: %w", ref, err)
	}
	tag := ""
	switch ref.Kind() {
	case tracking.RefTag, tracking.RefLatest, tracking.RefSemver:
		if err := tracking.ValidateRefName(res.Version); err != nil {
			return resolver.Objects{}, fmt.Errorf("gitcli: objects of %s: the resolution names no tag (Version %s); pass the Result that resolving the ref returned: %w", ref, redact.Quote(res.Version), tracking.ErrInvalidArgument)
		}
		tag = res.Version
	case tracking.RefBranch, tracking.RefHead:
	default:
		return resolver.Objects{}, fmt.Errorf("gitcli: ref %s is not tracked, so it selects no objects to read: %w", ref, resolver.ErrUnsupported)
	}

	repo, from, done, err := r.objectsRepo(ctx, remote)
	if err != nil {
		return resolver.Objects{}, err
	}
	defer done()
	// fetch fetches refspec's commits only, and into a temporary
	// repository only the one commit (a history clone keeps its history).
	fetch := func(refspec string) error {
		args := []string{"--no-tags", "--no-write-fetch-head", "--filter=tree:0"}
		if r.history.dir == "" {
			args = append(args, "--depth=1")
		}
		return r.boundedFetch(ctx, up, repo, append(args, "--", from, refspec)...)
	}

	var objs resolver.Objects
	if tag != "" {
		if err := fetch("+refs/tags/" + tag + ":" + objectsTagRef); err != nil {
			return resolver.Objects{}, err
		}
		if objs.Tag, err = r.readTag(ctx, repo, remote, tag, res.SHA); err != nil {
			return resolver.Objects{}, err
		}
	} else if have, err := r.present(ctx, repo, remote, res.SHA); err != nil {
		return resolver.Objects{}, err
	} else if !have[res.SHA] {
		err := fetch("+" + res.SHA + ":" + objectsCommitRef)
		var ce *CommandError
		if errors.As(err, &ce) && ce.StderrContains(unadvertisedMark) {
			err = r.fetchBranchTip(ctx, repo, remote, fetch, ref, res.SHA)
		}
		if err != nil {
			return resolver.Objects{}, err
		}
	}
	// Reading a commit that is not there would make git fetch it from the
	// promisor remote, without credentials: check first.
	if have, err := r.present(ctx, repo, remote, res.SHA); err != nil {
		return resolver.Objects{}, err
	} else if !have[res.SHA] {
		return resolver.Objects{}, fmt.Errorf("gitcli: objects %s: the remote did not send commit %s", remote, res.SHA)
	}
	if objs.Commit, err = r.git.Run(ctx, repo, "cat-file", "commit", res.SHA); err != nil {
		return resolver.Objects{}, fmt.Errorf("gitcli: objects %s: %w", remote, err)
	}
	return objs, nil
}

// unadvertisedMark is what git writes when a server (one speaking only
// protocol version 0, say) refuses to send a commit asked for by id that
// is not the tip of one of its refs.
const unadvertisedMark = "does not allow request for unadvertised object"

// fetchBranchTip fetches (with fetch) the branch or HEAD that ref
// selects, for a server that does not send commits by id, and checks
// that its tip is sha.
func (r *Resolver) fetchBranchTip(ctx context.Context, repo, remote string, fetch func(refspec string) error, ref tracking.Ref, sha string) error {
	name := "HEAD"
	if ref.Kind() == tracking.RefBranch {
		name = "refs/heads/" + ref.Name()
	}
	if err := fetch("+" + name + ":" + objectsCommitRef); err != nil {
		return err
	}
	out, err := r.git.Run(ctx, repo, "rev-parse", "--verify", "--end-of-options", objectsCommitRef)
	if err != nil {
		return fmt.Errorf("gitcli: objects %s: %w", remote, err)
	}
	if tip := strings.TrimSpace(string(out)); tip != sha {
		return fmt.Errorf("gitcli: objects %s: %s moved while it was checked: it names commit %.12s, the resolution %.12s, and the server sends only the tips of its refs; the next sweep will see the new commit", remote, ref, tip, sha)
	}
	return nil
}

// objectsRepo returns the repository ReadObjects fetches into, the
// remote name or URL to fetch from there, and what to call when done: the
// history clone of remote (locked until done) when Config.HistoryCacheDir
// is set, else a new temporary repository (removed by done).
func (r *Resolver) objectsRepo(ctx context.Context, remote string) (repo, from string, done func(), err error) {
	if r.history.dir != "" {
		repo = r.history.clone(remote)
		unlock := r.history.lock(repo)
		if err := r.openHistory(ctx, repo, remote); err != nil {
			unlock()
			return "", "", nil, err
		}
		return repo, "origin", unlock, nil
	}
	tmp, err := os.MkdirTemp("", "plugindrift-objects-")
	if err != nil {
		return "", "", nil, fmt.Errorf("gitcli: objects: %w", err)
	}
	remove := func() { _ = os.RemoveAll(tmp) }
	if _, err := r.git.Run(ctx, tmp, "init", "--quiet"); err != nil {
		remove()
		return "", "", nil, fmt.Errorf("gitcli: objects: init: %w", err)
	}
	return tmp, remote, remove, nil
}

// readTag checks the tag fetched to objectsTagRef against the resolution
// (it names tag and its commit is sha) and returns its raw tag object, nil
// for a lightweight tag.
func (r *Resolver) readTag(ctx context.Context, repo, remote, tag, sha string) ([]byte, error) {
	out, err := r.git.Run(ctx, repo, "for-each-ref", "--format=%(objectname) %(objecttype)", "--", objectsTagRef)
	if err != nil {
		return nil, fmt.Errorf("gitcli: objects %s: %w", remote, err)
	}
	id, kind, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	if tracking.ValidateSHA(id) != nil {
		return nil, fmt.Errorf("gitcli: objects %s: tag %s was not fetched", remote, redact.Quote(tag))
	}
	switch kind {
	case "commit":
		if id != sha {
			return nil, tagMoved(remote, tag, id, sha)
		}
		return nil, nil
	case "tag":
	default:
		return nil, fmt.Errorf("gitcli: objects %s: tag %s points at a %s, not a commit", remote, redact.Quote(tag), redact.Quote(kind))
	}
	raw, err := r.git.Run(ctx, repo, "cat-file", "tag", id)
	if err != nil {
		return nil, fmt.Errorf("gitcli: objects %s: %w", remote, err)
	}
	h := parseTagHeader(raw)
	switch {
	case h.typ != "commit":
		return nil, fmt.Errorf("gitcli: objects %s: tag %s is a tag of a %s, not of a commit; only tags of commits are checked", remote, redact.Quote(tag), redact.Quote(h.typ))
	case tracking.ValidateSHA(h.object) != nil:
		return nil, fmt.Errorf("gitcli: objects %s: the tag object of %s names object %s, not a commit id", remote, redact.Quote(tag), redact.Quote(h.object))
	case h.object != sha:
		return nil, tagMoved(remote, tag, h.object, sha)
	case h.tag != tag:
		return nil, fmt.Errorf("gitcli: objects %s: refs/tags/%s points at the tag object of tag %s: a signature over it vouches for that tag, not for this one", remote, tag, redact.Quote(h.tag))
	}
	return raw, nil
}

// tagMoved is the error for a tag that no longer names the commit it was
// resolved to.
func tagMoved(remote, tag, now, resolved string) error {
	return fmt.Errorf("gitcli: objects %s: tag %s moved while it was checked: it names commit %.12s, the resolution %.12s; the next sweep will see the new commit", remote, redact.Quote(tag), now, resolved)
}

// tagHeader holds the header lines of a tag object that say what it tags.
type tagHeader struct {
	object, typ, tag string
}

// parseTagHeader reads the object, type and tag lines of a raw tag
// object: the first of each, up to the blank line that ends the header.
func parseTagHeader(raw []byte) tagHeader {
	var h tagHeader
	for line := range strings.SplitSeq(string(raw), "\n") {
		if line == "" {
			break
		}
		key, value, _ := strings.Cut(line, " ")
		switch {
		case key == "object" && h.object == "":
			h.object = value
		case key == "type" && h.typ == "":
			h.typ = value
		case key == "tag" && h.tag == "":
			h.tag = value
		}
	}
	return h
}
