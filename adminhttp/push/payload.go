package push

import (
	"encoding/json"
	"errors"
	"fmt"
)

// The payload structs hold the fields of each provider's documented
// payload that say which repository and which ref moved; everything else
// is ignored.

// hubRepository is the repository object of GitHub's payloads, which
// Gitea and Forgejo copy.
type hubRepository struct {
	FullName      string `json:"full_name"`
	HTMLURL       string `json:"html_url"`
	CloneURL      string `json:"clone_url"`
	GitURL        string `json:"git_url"`
	SSHURL        string `json:"ssh_url"`
	DefaultBranch string `json:"default_branch"`
	// MasterBranch is the default branch in GitHub's push payloads.
	MasterBranch string `json:"master_branch"`
}

// hubPayload covers GitHub's push, create, delete and release payloads
// and Gitea's and Forgejo's, which have the same shape.
type hubPayload struct {
	// Ref is the full ref of a push ("refs/heads/main") and the short
	// name of a create or delete ("v1.2.3"), whose RefType says which.
	Ref     string `json:"ref"`
	RefType string `json:"ref_type"`
	// MasterBranch is the default branch in create payloads.
	MasterBranch string `json:"master_branch"`
	Action       string `json:"action"`
	Release      *struct {
		TagName string `json:"tag_name"`
	} `json:"release"`
	Repository *hubRepository `json:"repository"`
}

// gitlabPayload covers GitLab's Push Hook and Tag Push Hook.
type gitlabPayload struct {
	ObjectKind string `json:"object_kind"`
	Ref        string `json:"ref"`
	Project    *struct {
		WebURL            string `json:"web_url"`
		GitSSHURL         string `json:"git_ssh_url"`
		GitHTTPURL        string `json:"git_http_url"`
		PathWithNamespace string `json:"path_with_namespace"`
		DefaultBranch     string `json:"default_branch"`
	} `json:"project"`
	Repository *struct {
		URL        string `json:"url"`
		Homepage   string `json:"homepage"`
		GitHTTPURL string `json:"git_http_url"`
		GitSSHURL  string `json:"git_ssh_url"`
	} `json:"repository"`
}

// genericPayload is the generic form: a repository URL and, optionally,
// the full ref that moved and the default branch.
type genericPayload struct {
	Repository    string `json:"repository"`
	Ref           string `json:"ref"`
	DefaultBranch string `json:"default_branch"`
}

// errNoRepository is a payload of a known event that names no
// repository plugindrift can identify.
var errNoRepository = errors.New("the payload names no repository URL")

func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("the payload is not the JSON object expected: %w", err)
	}
	return nil
}

// parseHub reads a GitHub, Gitea or Forgejo payload of the named event
// (X-GitHub-Event, X-Gitea-Event, X-Forgejo-Event). The repository is
// read whatever the event, so the handler can pick its secret; the error
// is for a known event whose payload is unusable.
func parseHub(name string, body []byte) (event, error) {
	var p hubPayload
	err := decode(body, &p)
	var e event
	if r := p.Repository; r != nil {
		for _, u := range []string{r.CloneURL, r.SSHURL, r.HTMLURL, r.GitURL} {
			e.addRepo(u)
		}
		e.addFullName(r.HTMLURL, r.FullName)
		e.defaultBranch = r.DefaultBranch
		if e.defaultBranch == "" {
			e.defaultBranch = r.MasterBranch
		}
	}
	switch name {
	case "ping":
		e.action = actionPing
		return e, nil
	case "push":
		e.setRef(p.Ref)
	case "create", "delete":
		if e.defaultBranch == "" {
			e.defaultBranch = p.MasterBranch
		}
		e.setShortRef(p.RefType, p.Ref)
	case "release":
		if p.Release != nil {
			e.setShortRef("tag", p.Release.TagName)
		}
	default:
		return e, nil
	}
	return checked(e, err)
}

// parseGitLab reads a GitLab payload of the named event (X-Gitlab-Event).
func parseGitLab(name string, body []byte) (event, error) {
	var p gitlabPayload
	err := decode(body, &p)
	var e event
	if pr := p.Project; pr != nil {
		for _, u := range []string{pr.GitHTTPURL, pr.GitSSHURL, pr.WebURL} {
			e.addRepo(u)
		}
		e.addFullName(pr.WebURL, pr.PathWithNamespace)
		e.defaultBranch = pr.DefaultBranch
	}
	if r := p.Repository; r != nil {
		for _, u := range []string{r.GitHTTPURL, r.GitSSHURL, r.Homepage, r.URL} {
			e.addRepo(u)
		}
	}
	switch name {
	case "Push Hook", "Tag Push Hook":
		e.setRef(p.Ref)
	default:
		return e, nil
	}
	return checked(e, err)
}

// parseGeneric reads the generic form.
func parseGeneric(body []byte) (event, error) {
	var p genericPayload
	err := decode(body, &p)
	var e event
	e.addRepo(p.Repository)
	e.defaultBranch = p.DefaultBranch
	if p.Ref == "" {
		e.action, e.allRefs = actionCheck, true
	} else {
		e.setRef(p.Ref)
	}
	return checked(e, err)
}

// checked returns the event of a known kind, or why its payload is
// unusable.
func checked(e event, decodeErr error) (event, error) {
	switch {
	case decodeErr != nil:
		return event{action: actionIgnore, repos: e.repos}, decodeErr
	case e.action == actionCheck && len(e.repos) == 0:
		return event{action: actionIgnore}, errNoRepository
	}
	return e, nil
}
