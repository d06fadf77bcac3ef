package github

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	gogithub "github.com/google/go-github/v62/github"

	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/tracking"
)

// hostName names GitHub's own verdicts in resolver.HostVerdict.
const hostName = "github"

var _ resolver.ObjectReader = (*Resolver)(nil)

// ReadObjects implements resolver.ObjectReader with the git database API
// of the source's host (Config.Hosts, with that host's Auth and rate-limit
// handling, as Resolve): GET /repos/{owner}/{repo}/git/commits/{sha} for
// the commit and, for refs that select a tag (tag:, tag:latest,
// semver:), GET /repos/{owner}/{repo}/git/ref/tags/{name} and, when the
// tag is annotated, GET /repos/{owner}/{repo}/git/tags/{sha}: one request
// for a branch or head, two for a lightweight tag, three for an annotated
// one.
//
// GitHub hands an object over as the verification's payload (the object
// without its signature) and signature; ReadObjects puts them back
// together as git stores them (a commit's signature as its gpgsig header,
// a tag's after its message) and checks that the result hashes to the id
// it was asked for, so what it returns is the object res names or an
// error saying it is not. For an object GitHub says is unsigned and gives
// no payload for, the object is nil, which the signature check judges
// unsigned. Objects.Host holds GitHub's own verdicts (verified, reason)
// on the commit and the tag.
//
// A lightweight tag must point at res.SHA, and an annotated tag object at
// res.SHA under the name res.Version; otherwise the tag moved since it
// was resolved (the next sweep sees where it went), or the tag object is
// another tag's, and ReadObjects returns an error saying so.
//
// It returns resolver.ErrUnsupported for a source that is not github://
// or an untracked ref, resolver.ErrOtherHost for one on a host not in
// Config.Hosts, an error wrapping tracking.ErrInvalidSHA for a res.SHA
// that is not a full commit id and tracking.ErrInvalidArgument for a tag
// ref whose res.Version is not a tag name (before anything is sent),
// resolver.ErrNotFound when the commit or the tag is gone, and
// resolver.ErrRateLimited and resolver.ErrUnauthorized as Resolve does.
func (r *Resolver) ReadObjects(ctx context.Context, source tracking.Source, ref tracking.Ref, res resolver.Result) (resolver.Objects, error) {
	ep, err := r.endpointOf(source)
	if err != nil {
		return resolver.Objects{}, err
	}
	if err := tracking.ValidateSHA(res.SHA); err != nil {
		return resolver.Objects{}, fmt.Errorf("github: objects of %s: %w", ref, err)
	}
	tag := ""
	switch ref.Kind() {
	case tracking.RefTag, tracking.RefLatest, tracking.RefSemver:
		if err := tracking.ValidateRefName(res.Version); err != nil {
			return resolver.Objects{}, fmt.Errorf("github: objects of %s: the resolution names no tag (Version %s); pass the Result that resolving the ref returned: %w", ref, redact.Quote(res.Version), tracking.ErrInvalidArgument)
		}
		tag = res.Version
	case tracking.RefBranch, tracking.RefHead:
	default:
		return resolver.Objects{}, fmt.Errorf("github: ref %s is not tracked, so it selects no objects to read: %w", ref, resolver.ErrUnsupported)
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	o := objectReader{r: r, ep: ep, owner: source.Owner(), repo: source.Repo()}

	objs := resolver.Objects{Host: &resolver.HostVerdict{Name: hostName}}
	if tag != "" {
		if objs.Tag, objs.Host.Tag, err = o.tag(ctx, tag, res.SHA); err != nil {
			return resolver.Objects{}, err
		}
	}
	if objs.Commit, objs.Host.Commit, err = o.commit(ctx, res.SHA); err != nil {
		return resolver.Objects{}, err
	}
	return objs, nil
}

// objectReader reads the objects of one repository.
type objectReader struct {
	r           *Resolver
	ep          *endpoint
	owner, repo string
}

// commit reads the commit sha.
func (o objectReader) commit(ctx context.Context, sha string) ([]byte, *resolver.HostCheck, error) {
	op := fmt.Sprintf("%s/%s commit %.12s", o.owner, o.repo, sha)
	var c *gogithub.Commit
	if _, err := o.r.call(ctx, o.ep, op, func(gc *gogithub.Client) (*gogithub.Response, error) {
		got, resp, err := gc.Git.GetCommit(ctx, o.owner, o.repo, sha)
		c = got
		return resp, err
	}); err != nil {
		return nil, nil, err
	}
	if c.GetSHA() != sha {
		return nil, nil, fmt.Errorf("github: %s: the API answered for commit %s", op, redact.Quote(c.GetSHA()))
	}
	return rebuild(op, "commit", sha, c.Verification)
}

// tag reads the tag name, which must name commit sha: its raw tag object
// and GitHub's verdict on it, both nil for a lightweight tag.
func (o objectReader) tag(ctx context.Context, name, sha string) ([]byte, *resolver.HostCheck, error) {
	op := fmt.Sprintf("%s/%s tag %s", o.owner, o.repo, redact.Quote(name))
	var ref *gogithub.Reference
	if _, err := o.r.call(ctx, o.ep, op, func(gc *gogithub.Client) (*gogithub.Response, error) {
		got, resp, err := gc.Git.GetRef(ctx, o.owner, o.repo, "tags/"+name)
		ref = got
		return resp, err
	}); err != nil {
		return nil, nil, err
	}
	id := ref.GetObject().GetSHA()
	switch kind := ref.GetObject().GetType(); {
	case ref.GetRef() != "refs/tags/"+name:
		return nil, nil, fmt.Errorf("github: %s: the API answered for ref %s", op, redact.Quote(ref.GetRef()))
	case kind == "commit":
		if id != sha {
			return nil, nil, tagMoved(op, id, sha)
		}
		return nil, nil, nil
	case kind != "tag":
		return nil, nil, fmt.Errorf("github: %s: the tag points at a %s, not a commit", op, redact.Quote(kind))
	case !isSHA(id):
		return nil, nil, fmt.Errorf("github: %s: the API named tag object %s, not an object id", op, redact.Quote(id))
	}

	var t *gogithub.Tag
	if _, err := o.r.call(ctx, o.ep, op, func(gc *gogithub.Client) (*gogithub.Response, error) {
		got, resp, err := gc.Git.GetTag(ctx, o.owner, o.repo, id)
		t = got
		return resp, err
	}); err != nil {
		return nil, nil, err
	}
	switch target := t.GetObject(); {
	case t.GetSHA() != id:
		return nil, nil, fmt.Errorf("github: %s: the API answered for tag object %s, not %.12s", op, redact.Quote(t.GetSHA()), id)
	case target.GetType() != "commit":
		return nil, nil, fmt.Errorf("github: %s: the tag is a tag of a %s, not of a commit; only tags of commits are checked", op, redact.Quote(target.GetType()))
	case target.GetSHA() != sha:
		return nil, nil, tagMoved(op, target.GetSHA(), sha)
	case t.GetTag() != name:
		return nil, nil, fmt.Errorf("github: %s: the ref points at the tag object of tag %s: a signature over it vouches for that tag, not for this one", op, redact.Quote(t.GetTag()))
	}
	return rebuild(op, "tag", id, t.Verification)
}

// tagMoved is the error for a tag that no longer names the commit it was
// resolved to.
func tagMoved(op, now, resolved string) error {
	if !isSHA(now) {
		now = redact.Quote(now)
	}
	return fmt.Errorf("github: %s: the tag moved while it was checked: it names commit %.12s, the resolution %.12s; the next sweep will see the new commit", op, now, resolved)
}

// rebuild puts the object id of type kind ("commit", "tag") back together
// from GitHub's verification of it, and returns it with GitHub's verdict.
// The object is nil when GitHub gives no payload, which it does for an
// unsigned object only; one that does not hash to id is refused.
func rebuild(op, kind, id string, v *gogithub.SignatureVerification) ([]byte, *resolver.HostCheck, error) {
	if v == nil {
		return nil, nil, fmt.Errorf("github: %s: the API gave no verification for the %s", op, kind)
	}
	check := &resolver.HostCheck{Verified: v.GetVerified(), Reason: v.GetReason()}
	if v.Payload == nil {
		if check.Verified || v.GetSignature() != "" {
			return nil, nil, fmt.Errorf("github: %s: the API gave a signature or a verified %s but not its payload, so the %s cannot be checked", op, kind, kind)
		}
		return nil, check, nil
	}
	raw := *v.Payload
	if sig := v.GetSignature(); sig != "" {
		switch kind {
		case "commit":
			// git stores the signature as the last header, gpgsig, each
			// line after the first indented by one space.
			end := strings.Index(raw, "\n\n")
			if end < 0 {
				return nil, nil, fmt.Errorf("github: %s: the API gave a commit payload without the blank line that ends its headers", op)
			}
			header := "gpgsig " + strings.ReplaceAll(strings.TrimSuffix(sig, "\n"), "\n", "\n ") + "\n"
			raw = raw[:end+1] + header + raw[end+1:]
		case "tag":
			raw += sig
		}
	}
	if got := objectID(kind, []byte(raw), len(id)); got != id {
		return nil, nil, fmt.Errorf("github: %s: the payload and signature the API gave hash to %.12s, not to the %s %.12s; refusing objects that are not the ones named", op, got, kind, id)
	}
	return []byte(raw), check, nil
}

// objectID is the id git gives the object raw of type kind: SHA-1 for a
// 40-digit id, SHA-256 for a 64-digit one.
func objectID(kind string, raw []byte, digits int) string {
	header := kind + " " + strconv.Itoa(len(raw)) + "\x00"
	if digits == 64 {
		sum := sha256.Sum256(append([]byte(header), raw...))
		return hex.EncodeToString(sum[:])
	}
	sum := sha1.Sum(append([]byte(header), raw...))
	return hex.EncodeToString(sum[:])
}
