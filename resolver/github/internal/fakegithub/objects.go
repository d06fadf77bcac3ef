package fakegithub

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Verdict is the verification GitHub reports for one object.
type Verdict struct {
	Verified bool
	Reason   string
}

// Judge makes the server report v as the verification of the commit or
// tag object id, instead of its default: {true, "valid"} for a signed
// object, {false, "unsigned"} for one without a signature.
func (s *Server) Judge(id string, v Verdict) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.verdicts == nil {
		s.verdicts = map[string]Verdict{}
	}
	s.verdicts[id] = v
}

// Tamper makes the server answer for the commit or tag object id with a
// payload that is not the object's (its message changed), keeping the
// signature: what a compromised or buggy API would give.
func (s *Server) Tamper(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tampered == nil {
		s.tampered = map[string]bool{}
	}
	s.tampered[id] = true
}

// gitObjects answers the git database endpoints under
// /repos/{owner}/{repo}/git/: commits/{sha}, tags/{sha} and
// ref/{heads|tags}/{name}.
func (s *Server) gitObjects(w http.ResponseWriter, req *http.Request, repo repoRef, rest string) {
	notFound := func() {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/git")
	}
	kind, escaped, ok := strings.Cut(rest, "/")
	if !ok {
		notFound()
		return
	}
	name, err := url.PathUnescape(escaped)
	if err != nil || name == "" || strings.HasPrefix(name, "-") || strings.ContainsAny(name, "\x00\n") {
		notFound()
		return
	}
	switch kind {
	case "commits":
		s.gitCommit(w, req, repo, name)
	case "tags":
		s.gitTag(w, req, repo, name)
	case "ref":
		s.gitRef(w, req, repo, name)
	default:
		notFound()
	}
}

// objectOf returns the raw object id of repo when it is of type kind.
func objectOf(repo repoRef, kind, id string) (string, bool) {
	if len(id) != 40 || strings.Trim(id, "0123456789abcdef") != "" {
		return "", false
	}
	if t, err := git(repo.dir, "cat-file", "-t", id); err != nil || strings.TrimSpace(t) != kind {
		return "", false
	}
	raw, err := git(repo.dir, "cat-file", kind, id)
	return raw, err == nil
}

// verification is GitHub's verification object for the object id whose
// signed payload and signature (both "" when unsigned) are given.
func (s *Server) verification(id, payload, signature string) map[string]any {
	s.mu.Lock()
	verdict, judged := s.verdicts[id]
	tampered := s.tampered[id]
	unsignedPayloads := s.cfg.UnsignedPayloads
	s.mu.Unlock()
	if !judged {
		verdict = Verdict{Verified: signature != "", Reason: "valid"}
		if signature == "" {
			verdict.Reason = "unsigned"
		}
	}
	if tampered {
		head, body, _ := strings.Cut(payload, "\n\n")
		payload = head + "\n\ntampered " + body
	}
	v := map[string]any{"verified": verdict.Verified, "reason": verdict.Reason, "signature": nil, "payload": nil, "verified_at": nil}
	if signature != "" {
		v["signature"], v["payload"] = signature, payload
	} else if unsignedPayloads {
		v["payload"] = payload
	}
	if verdict.Verified {
		v["verified_at"] = "2024-01-01T00:00:00Z"
	}
	return v
}

func (s *Server) gitCommit(w http.ResponseWriter, req *http.Request, repo repoRef, sha string) {
	raw, ok := objectOf(repo, "commit", sha)
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/git/commits#get-a-commit-object")
		return
	}
	payload, signature := splitCommit(raw)
	head, message, _ := strings.Cut(raw, "\n\n")
	base := s.apiBase(req, repo)
	body := map[string]any{
		"sha":          sha,
		"node_id":      "C_" + sha,
		"url":          base + "/git/commits/" + sha,
		"html_url":     "http://" + req.Host + "/" + repo.owner + "/" + repo.name + "/commit/" + sha,
		"message":      message,
		"parents":      []any{},
		"verification": s.verification(sha, payload, signature),
	}
	var parents []any
	for line := range strings.SplitSeq(head, "\n") {
		key, value, _ := strings.Cut(line, " ")
		switch key {
		case "tree":
			body["tree"] = map[string]any{"sha": value, "url": base + "/git/trees/" + value}
		case "parent":
			parents = append(parents, map[string]any{"sha": value, "url": base + "/git/commits/" + value})
		case "author", "committer":
			body[key] = identity(value)
		}
	}
	if parents != nil {
		body["parents"] = parents
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) gitTag(w http.ResponseWriter, req *http.Request, repo repoRef, sha string) {
	raw, ok := objectOf(repo, "tag", sha)
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/git/tags#get-a-tag")
		return
	}
	payload, signature := splitTag(raw)
	head, message, _ := strings.Cut(payload, "\n\n")
	base := s.apiBase(req, repo)
	body := map[string]any{
		"sha":          sha,
		"node_id":      "TAG_" + sha,
		"url":          base + "/git/tags/" + sha,
		"message":      message,
		"verification": s.verification(sha, payload, signature),
	}
	object := map[string]any{}
	for line := range strings.SplitSeq(head, "\n") {
		key, value, _ := strings.Cut(line, " ")
		switch key {
		case "object":
			object["sha"] = value
			object["url"] = base + "/git/commits/" + value
		case "type":
			object["type"] = value
		case "tag":
			body["tag"] = value
		case "tagger":
			body["tagger"] = identity(value)
		}
	}
	body["object"] = object
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) gitRef(w http.ResponseWriter, req *http.Request, repo repoRef, name string) {
	if !strings.HasPrefix(name, "heads/") && !strings.HasPrefix(name, "tags/") {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/git/refs#get-a-reference")
		return
	}
	out, err := git(repo.dir, "for-each-ref", "--format=%(objectname) %(objecttype)", "--", "refs/"+name)
	id, kind, _ := strings.Cut(strings.TrimSpace(out), " ")
	if err != nil || id == "" || strings.Contains(kind, "\n") {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/git/refs#get-a-reference")
		return
	}
	base := s.apiBase(req, repo)
	writeJSON(w, http.StatusOK, map[string]any{
		"ref":     "refs/" + name,
		"node_id": "REF_" + name,
		"url":     base + "/git/refs/" + name,
		"object":  map[string]any{"type": kind, "sha": id, "url": base + "/git/" + kind + "s/" + id},
	})
}

func (s *Server) apiBase(req *http.Request, repo repoRef) string {
	return "http://" + req.Host + s.cfg.Prefix + "/repos/" + repo.owner + "/" + repo.name
}

// splitCommit splits a raw commit into what its gpgsig header signs (the
// commit without that header) and the signature (the header's value, one
// line per line, each ending in a newline), as git's parse_signed_commit
// does; signature is "" for an unsigned commit.
func splitCommit(raw string) (payload, signature string) {
	head, body, _ := strings.Cut(raw, "\n\n")
	var kept, sig strings.Builder
	inSig := false
	for line := range strings.SplitSeq(head, "\n") {
		if value, ok := strings.CutPrefix(line, "gpgsig "); ok && sig.Len() == 0 {
			sig.WriteString(value + "\n")
			inSig = true
			continue
		}
		if value, ok := strings.CutPrefix(line, " "); ok && inSig {
			sig.WriteString(value + "\n")
			continue
		}
		inSig = false
		kept.WriteString(line + "\n")
	}
	return kept.String() + "\n" + body, sig.String()
}

// splitTag splits a raw tag object at its signature: the trailing block
// from the last line that begins one.
func splitTag(raw string) (payload, signature string) {
	at := -1
	for _, begin := range []string{"-----BEGIN PGP SIGNATURE-----", "-----BEGIN SSH SIGNATURE-----", "-----BEGIN SIGNED MESSAGE-----"} {
		if i := strings.LastIndex(raw, "\n"+begin+"\n"); i+1 > at && i >= 0 {
			at = i + 1
		}
	}
	if at < 0 {
		return raw, ""
	}
	return raw[:at], raw[at:]
}

// identity turns a git identity ("Name <email> 1700000000 +0000") into
// GitHub's JSON for it.
func identity(value string) map[string]any {
	name, rest, _ := strings.Cut(value, " <")
	email, when, _ := strings.Cut(rest, "> ")
	secs, _, _ := strings.Cut(when, " ")
	n, _ := strconv.ParseInt(secs, 10, 64)
	return map[string]any{"name": name, "email": email, "date": time.Unix(n, 0).UTC().Format(time.RFC3339)}
}
