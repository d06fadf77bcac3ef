package push

import (
	"strings"

	"github.com/plugindrift/plugindrift/internal/tagselect"
	"github.com/plugindrift/plugindrift/tracking"
)

// Provider names who sent a webhook; it chooses the payload parser, the
// signature scheme, the secret and the delivery header.
type Provider string

// The providers the Handler understands.
const (
	GitHub  Provider = "github"
	GitLab  Provider = "gitlab"
	Gitea   Provider = "gitea"   // also Forgejo, which sends the same payloads
	Generic Provider = "generic" // {"repository": "<url>", "ref": "refs/heads/main"}
)

// action is what the handler does with an event.
type action int

const (
	actionIgnore action = iota // an event that never moves a ref: answered 2xx, nothing else
	actionPing                 // GitHub's ping: answered "pong"
	actionCheck                // a ref moved: check the upstreams it concerns
)

// event is what a webhook says moved, read from its payload.
type event struct {
	action action
	// repos are the identities of the repository the payload names (its
	// clone URLs, web URL, full name on its host), without duplicates.
	repos []tracking.RepoKey
	// Exactly one of branch, tag and allRefs is set for actionCheck.
	branch string // a branch that moved, was created or was deleted
	tag    string // a tag that was created, deleted, moved or released
	// allRefs: the payload names no ref (the generic form without "ref"),
	// so every tracked ref of the repository is concerned.
	allRefs bool
	// defaultBranch is the repository's default branch when the payload
	// says, "" otherwise.
	defaultBranch string
}

// concerns reports whether a tracked ref of the event's repository may
// have moved:
//   - a branch B: branch:B, and head when B is the default branch or the
//     payload does not say which branch is (head may follow it);
//   - a tag T: tag:T, tag:latest when T is a stable version, semver:C when
//     T satisfies C (tagselect's rules, the resolvers' own: a new, deleted
//     or re-pointed version can change which tag is selected);
//   - no ref named: every tracked ref.
func (e event) concerns(r tracking.Ref) bool {
	if !r.Tracked() {
		return false
	}
	switch {
	case e.allRefs:
		return true
	case e.branch != "":
		switch r.Kind() {
		case tracking.RefBranch:
			return r.Name() == e.branch
		case tracking.RefHead:
			return e.defaultBranch == "" || e.defaultBranch == e.branch
		}
	case e.tag != "":
		switch r.Kind() {
		case tracking.RefTag:
			return r.Name() == e.tag
		case tracking.RefLatest, tracking.RefSemver:
			selected, err := tagselect.Select(r, []string{e.tag})
			return err == nil && selected == e.tag
		}
	}
	return false
}

// setRef records a full ref name ("refs/heads/main", "refs/tags/v1.2.3").
// Other refs (pull requests, notes) concern no tracked ref: the event is
// ignored.
func (e *event) setRef(full string) {
	if b, ok := strings.CutPrefix(full, "refs/heads/"); ok && b != "" {
		e.action, e.branch = actionCheck, b
	} else if t, ok := strings.CutPrefix(full, "refs/tags/"); ok && t != "" {
		e.action, e.tag = actionCheck, t
	}
}

// setShortRef records a short ref name of a create or delete event.
func (e *event) setShortRef(refType, name string) {
	switch {
	case name == "":
	case refType == "branch":
		e.action, e.branch = actionCheck, name
	case refType == "tag":
		e.action, e.tag = actionCheck, name
	}
}

// addRepo adds the identity of a repository URL; URLs that name none are
// skipped (a payload names its repository several ways, and an API URL
// or an empty field must not spoil the others).
func (e *event) addRepo(raw string) {
	k, err := tracking.ParseRepoURL(raw)
	if err != nil {
		return
	}
	for _, have := range e.repos {
		if have == k {
			return
		}
	}
	e.repos = append(e.repos, k)
}

// addFullName adds "host/owner/repo" for a full name on the host of a web
// URL ("https://github.com/acme/widget" and "acme/widget").
func (e *event) addFullName(webURL, fullName string) {
	if fullName == "" {
		return
	}
	host := tracking.DefaultGitHubHost
	if k, err := tracking.ParseRepoURL(webURL); err == nil {
		host, _, _ = strings.Cut(k.String(), "/")
	}
	e.addRepo(host + "/" + fullName)
}
