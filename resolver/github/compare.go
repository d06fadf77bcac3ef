package github

import (
	"context"
	"errors"
	"fmt"

	gogithub "github.com/google/go-github/v62/github"

	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/tracking"
)

var _ resolver.AncestryChecker = (*Resolver)(nil)

// NotAncestors implements resolver.AncestryChecker with GitHub's compare
// API on the source's host (Config.Hosts, with that host's Auth), one
// request per commit (GET /repos/{owner}/{repo}/compare/
// {sha}...{tip}, one commit per page): status "ahead" or "identical"
// means tip descends from sha; "diverged" or "behind" means it does not,
// and so does a 404 for a commit GitHub does not know. The sweeper asks
// only when a branch moved, so an unchanged sweep sends none.
//
// It returns resolver.ErrUnsupported for a source that is not github://,
// resolver.ErrOtherHost for one on a host not in Config.Hosts, an
// error wrapping tracking.ErrInvalidSHA for a tip or sha that is not a
// full commit id (before anything is sent), and resolver.ErrRateLimited
// as Resolve does.
func (r *Resolver) NotAncestors(ctx context.Context, source tracking.Source, tip string, shas []string) ([]string, error) {
	ep, err := r.endpointOf(source)
	if err != nil {
		return nil, err
	}
	if err := tracking.ValidateSHAs(append([]string{tip}, shas...)...); err != nil {
		return nil, fmt.Errorf("github: ancestry: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	owner, repo := source.Owner(), source.Repo()
	var out []string
	tipKnown := false
	for _, s := range shas {
		op := fmt.Sprintf("%s/%s compare %.12s...%.12s", owner, repo, s, tip)
		var cmp *gogithub.CommitsComparison
		_, err := r.call(ctx, ep, op, func(c *gogithub.Client) (*gogithub.Response, error) {
			got, resp, err := c.Repositories.CompareCommits(ctx, owner, repo, s, tip, &gogithub.ListOptions{PerPage: 1})
			cmp = got
			return resp, err
		})
		if errors.Is(err, resolver.ErrNotFound) {
			// GitHub answers 404 when either commit is unknown: only the
			// first time, ask whether it is tip.
			if !tipKnown {
				if err := r.commitExists(ctx, ep, owner, repo, tip); err != nil {
					return nil, err
				}
				tipKnown = true
			}
			out = append(out, s) // a commit GitHub does not know
			continue
		}
		if err != nil {
			return nil, err
		}
		switch status := cmp.GetStatus(); status {
		case "ahead", "identical":
		case "diverged", "behind":
			out = append(out, s)
		default:
			return nil, fmt.Errorf("github: %s: the API answered status %s, not ahead, identical, behind or diverged", op, redact.Quote(status))
		}
	}
	return out, nil
}

// commitExists returns nil when the repository has commit sha, an error
// matching resolver.ErrNotFound when it does not.
func (r *Resolver) commitExists(ctx context.Context, ep *endpoint, owner, repo, sha string) error {
	op := fmt.Sprintf("%s/%s commit %.12s", owner, repo, sha)
	_, err := r.call(ctx, ep, op, func(c *gogithub.Client) (*gogithub.Response, error) {
		_, resp, err := c.Repositories.GetCommitSHA1(ctx, owner, repo, sha, "")
		return resp, err
	})
	return err
}
