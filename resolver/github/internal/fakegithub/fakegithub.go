// Package fakegithub is a stand-in for the GitHub REST API, for tests: an
// httptest server that answers the endpoints the github resolver calls from
// real bare git repositories on disk, read live with the git command line,
// so it sees every change a test makes to them.
//
// Served (under an optional path prefix, as GitHub Enterprise Server's
// /api/v3):
//
//	GET /repos/{owner}/{repo}                 default_branch, ETag/304; 404 when the repository is missing
//	GET /repos/{owner}/{repo}/commits/{ref}   Accept: application/vnd.github.sha: the peeled commit id as text,
//	                                          ETag "<sha>", 304 on a matching If-None-Match,
//	                                          422 "No commit found for SHA: <ref>" for an unknown ref,
//	                                          409 "Git Repository is empty." for an empty repository
//	GET /repos/{owner}/{repo}/tags            peeled tags as JSON, per_page/page, Link pagination, ETag/304
//	GET /repos/{owner}/{repo}/compare/{base}...{head}
//	                                          status identical, ahead, behind or diverged, ahead_by,
//	                                          behind_by; 404 when either commit is unknown
//	GET /repos/{owner}/{repo}/git/commits/{sha}
//	GET /repos/{owner}/{repo}/git/tags/{sha}  the commit or tag object, read with git cat-file, with
//	                                          verification {verified, reason, signature, payload}: the
//	                                          signed payload and the signature as GitHub splits them
//	                                          (both null when unsigned); 404 when unknown; see Judge and
//	                                          Tamper
//	GET /repos/{owner}/{repo}/git/ref/{heads|tags}/{name}
//	                                          the ref's object id and type (commit, or tag when annotated);
//	                                          404 when missing
//	POST /app/installations/{id}/access_tokens with Config.App: an installation token for a JWT the App signed
//
// These mirror github.com's answers. The server also keeps a log of every
// request and can answer the next requests with scripted failures, or
// every request with a rate limit for as long as a test says.
package fakegithub

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config configures a Server.
type Config struct {
	// Path returns the directory of the bare repository that serves
	// owner/repo; the repository is missing (404) when the directory does
	// not exist. Required.
	Path func(owner, repo string) string
	// Prefix is the path the API lives under, e.g. "/api/v3" as on GitHub
	// Enterprise Server. Defaults to none (github.com's layout).
	Prefix string
	// Token, when set, must arrive as "Authorization: Bearer <Token>" or
	// "token <Token>"; other requests get 401 Bad credentials.
	Token string
	// App, when set, makes the server a GitHub App's: it mints
	// installation tokens, and /repos requests must carry one that has not
	// expired (or Token).
	App *App
	// UnsignedPayloads makes the git/commits and git/tags endpoints give
	// the payload of an unsigned object too. Defaults to false: null, as
	// github.com answers.
	UnsignedPayloads bool
}

// App is the GitHub App a Server mints installation tokens for.
type App struct {
	// ID is the App id the JWT's "iss" must name.
	ID int64
	// InstallationID is the one installation tokens are minted for.
	InstallationID int64
	// PublicKey verifies the JWT's RS256 signature.
	PublicKey *rsa.PublicKey
	// TokenTTL is how long a minted token lasts. GitHub's last an hour;
	// anything under a minute makes the client mint a new one for every
	// request.
	TokenTTL time.Duration
}

// Request is one entry of the request log.
type Request struct {
	Method string
	// Path is the escaped URL path as received, prefix included.
	Path  string
	Query string
	// IfNoneMatch is the If-None-Match header sent, if any.
	IfNoneMatch string
	// Authorization is the Authorization header sent, if any.
	Authorization string
	// Status is the status code answered.
	Status int
}

// Response is a scripted answer.
type Response struct {
	Status int
	Header http.Header
	Body   string
}

// Server is the fake API. Build it with Start; stop it with Close.
type Server struct {
	cfg Config
	srv *httptest.Server

	mu     sync.Mutex
	log    []Request
	minted map[string]time.Time // installation token → expiry
	script []Response
	limit  *Response // answers everything while set; see Limit
	rate   http.Header

	verdicts map[string]Verdict // object id → verification to report; see Judge
	tampered map[string]bool    // object ids whose payload is altered; see Tamper
}

// Start starts a Server on a loopback port.
func Start(cfg Config) *Server {
	if cfg.Path == nil {
		panic("fakegithub: Config.Path is required")
	}
	cfg.Prefix = strings.TrimSuffix(cfg.Prefix, "/")
	s := &Server{cfg: cfg}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// URL is the server's root, without the prefix: "http://127.0.0.1:port".
func (s *Server) URL() string { return s.srv.URL }

// BaseURL is the API root to configure a client with: URL + Prefix + "/".
func (s *Server) BaseURL() string { return s.srv.URL + s.cfg.Prefix + "/" }

// Client returns an *http.Client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Requests returns a copy of the request log, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// ResetRequests empties the request log.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	s.log = nil
	s.mu.Unlock()
}

// FailNext answers the next n requests, whatever they ask, with r.
func (s *Server) FailNext(n int, r Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.script = append(s.script, r)
	}
}

// Limit answers every request with r, however many arrive, until Unlimit
// is called: a rate limit that lasts, as GitHub's does until its reset.
// Answers scripted with FailNext still come first.
func (s *Server) Limit(r Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limit = &r
}

// Unlimit lifts Limit.
func (s *Server) Unlimit() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limit = nil
}

// SetRate makes successful answers report remaining requests and the reset
// instant in X-RateLimit-Remaining and X-RateLimit-Reset. By default they
// report 4999 remaining and no reset.
func (s *Server) SetRate(remaining int, reset time.Time) {
	h := http.Header{}
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	s.mu.Lock()
	s.rate = h
	s.mu.Unlock()
}

// PrimaryLimit is GitHub's answer once the primary rate limit is used up
// until reset: 403 with X-RateLimit-Remaining: 0.
func PrimaryLimit(reset time.Time) Response {
	h := jsonHeader()
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", "0")
	h.Set("X-RateLimit-Used", "5000")
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	return Response{Status: http.StatusForbidden, Header: h, Body: errorBody(
		"API rate limit exceeded for user ID 1.",
		"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit")}
}

// SecondaryLimit is GitHub's answer to tripping a secondary rate limit: 403
// naming the secondary limits in documentation_url, with Retry-After.
func SecondaryLimit(retryAfter time.Duration) Response {
	return retryLater(http.StatusForbidden, retryAfter,
		"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
		"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits")
}

// TooManyRequests is a 429 with Retry-After.
func TooManyRequests(retryAfter time.Duration) Response {
	return retryLater(http.StatusTooManyRequests, retryAfter,
		"Too many requests.", "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api")
}

// retryLater is an error answer that asks to wait retryAfter (whole
// seconds) in Retry-After.
func retryLater(status int, retryAfter time.Duration, message, docURL string) Response {
	h := jsonHeader()
	h.Set("Retry-After", strconv.Itoa(int(retryAfter/time.Second)))
	return Response{Status: status, Header: h, Body: errorBody(message, docURL)}
}

// ServerError is a 500 with GitHub's usual body.
func ServerError() Response {
	return Response{Status: http.StatusInternalServerError, Header: jsonHeader(), Body: errorBody("Server Error", "")}
}

func jsonHeader() http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	return h
}

func errorBody(message, docURL string) string {
	b, _ := json.Marshal(map[string]string{"message": message, "documentation_url": docURL})
	return string(b)
}

func (s *Server) serve(w http.ResponseWriter, req *http.Request) {
	rec := &recorder{ResponseWriter: w, logged: func(status int) {
		// Logged before the status goes out, so a client that has its
		// answer always finds the request in the log.
		s.mu.Lock()
		s.log = append(s.log, Request{
			Method:        req.Method,
			Path:          req.URL.EscapedPath(),
			Query:         req.URL.RawQuery,
			IfNoneMatch:   req.Header.Get("If-None-Match"),
			Authorization: req.Header.Get("Authorization"),
			Status:        status,
		})
		s.mu.Unlock()
	}}
	s.route(rec, req)
	if !rec.wrote {
		rec.WriteHeader(http.StatusOK)
	}
}

func (s *Server) route(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	var scripted *Response
	if len(s.script) > 0 {
		next := s.script[0]
		scripted = &next
		s.script = s.script[1:]
	} else if s.limit != nil {
		limited := *s.limit
		scripted = &limited
	}
	s.mu.Unlock()
	if scripted != nil {
		for k, v := range scripted.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(scripted.Status)
		_, _ = w.Write([]byte(scripted.Body))
		return
	}

	if s.cfg.App != nil && req.Method == http.MethodPost && strings.HasPrefix(req.URL.Path, s.cfg.Prefix+"/app/installations/") {
		s.mintToken(w, req)
		return
	}
	if (s.cfg.Token != "" || s.cfg.App != nil) && !s.Authorized(req.Header.Get("Authorization")) {
		writeError(w, http.StatusUnauthorized, "Bad credentials", "https://docs.github.com/rest")
		return
	}
	path, ok := strings.CutPrefix(req.URL.EscapedPath(), s.cfg.Prefix+"/repos/")
	if !ok || req.Method != http.MethodGet {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
		return
	}
	parts := strings.SplitN(path, "/", 4)
	if len(parts) < 2 {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
		return
	}
	owner, err1 := url.PathUnescape(parts[0])
	name, err2 := url.PathUnescape(parts[1])
	dir := ""
	if err1 == nil && err2 == nil && owner != "" && name != "" {
		dir = s.cfg.Path(owner, name)
	}
	if fi, err := os.Stat(dir); dir == "" || err != nil || !fi.IsDir() {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/repos/repos#get-a-repository")
		return
	}
	repo := repoRef{owner: owner, name: name, dir: dir}

	s.mu.Lock()
	rate := s.rate
	s.mu.Unlock()
	setRate(w.Header(), rate)

	switch {
	case len(parts) == 2:
		s.getRepo(w, req, repo)
	case len(parts) == 3 && parts[2] == "tags":
		s.listTags(w, req, repo)
	case len(parts) == 4 && parts[2] == "git":
		s.gitObjects(w, req, repo, parts[3])
	case len(parts) == 4 && parts[2] == "compare":
		s.compare(w, repo, parts[3])
	case len(parts) == 4 && parts[2] == "commits":
		ref, err := url.PathUnescape(parts[3])
		if err != nil || ref == "" {
			writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/commits/commits#get-a-commit")
			return
		}
		s.getCommitSHA(w, req, repo, ref)
	default:
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
	}
}

// Authorized reports whether an Authorization header carries Config.Token
// or an installation token that has not expired.
func (s *Server) Authorized(header string) bool {
	if s.cfg.Token != "" && (header == "Bearer "+s.cfg.Token || header == "token "+s.cfg.Token) {
		return true
	}
	tok, ok := strings.CutPrefix(header, "token ")
	return ok && s.ValidToken(tok)
}

// ValidToken reports whether tok is an installation token this server
// minted that has not expired.
func (s *Server) ValidToken(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.minted[tok]
	return ok && time.Now().Before(exp)
}

// Minted returns how many installation tokens the server has minted.
func (s *Server) Minted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.minted)
}

// mintToken answers POST /app/installations/{id}/access_tokens: the JWT in
// "Authorization: Bearer" must be RS256-signed by the App's key, name the
// App as issuer and not have expired.
func (s *Server) mintToken(w http.ResponseWriter, req *http.Request) {
	app := s.cfg.App
	id := strings.TrimSuffix(strings.TrimPrefix(req.URL.Path, s.cfg.Prefix+"/app/installations/"), "/access_tokens")
	if id != strconv.FormatInt(app.InstallationID, 10) {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app")
		return
	}
	jwt, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
	if !ok || verifyJWT(jwt, app) != nil {
		writeError(w, http.StatusUnauthorized, "A JSON web token could not be decoded", "https://docs.github.com/rest")
		return
	}
	var n [16]byte
	_, _ = rand.Read(n[:])
	tok := "ghs_" + hex.EncodeToString(n[:])
	exp := time.Now().Add(app.TokenTTL)
	s.mu.Lock()
	if s.minted == nil {
		s.minted = map[string]time.Time{}
	}
	s.minted[tok] = exp
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{"token": tok, "expires_at": exp.UTC().Format(time.RFC3339Nano)})
}

// verifyJWT checks an App's JWT: RS256 over "header.payload" with the
// App's public key, "iss" the App id, "exp" in the future.
func verifyJWT(jwt string, app *App) error {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return errors.New("not a JWT")
	}
	var header struct {
		Alg string `json:"alg"`
	}
	var claims struct {
		Iss any   `json:"iss"`
		Exp int64 `json:"exp"`
	}
	for i, v := range []any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, v); err != nil {
			return err
		}
	}
	if header.Alg != "RS256" {
		return errors.New("not RS256")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(app.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		return err
	}
	if fmt.Sprint(claims.Iss) != strconv.FormatInt(app.ID, 10) {
		return errors.New("wrong issuer")
	}
	if time.Unix(claims.Exp, 0).Before(time.Now()) {
		return errors.New("expired")
	}
	return nil
}

func setRate(h, rate http.Header) {
	if rate == nil {
		h.Set("X-RateLimit-Limit", "5000")
		h.Set("X-RateLimit-Remaining", "4999")
		h.Set("X-RateLimit-Used", "1")
		return
	}
	for k, v := range rate {
		h[k] = v
	}
}

type repoRef struct {
	owner, name, dir string
}

func (s *Server) getRepo(w http.ResponseWriter, req *http.Request, repo repoRef) {
	branch, err := git(repo.dir, "symbolic-ref", "--quiet", "--short", "HEAD")
	if err != nil {
		branch = "main"
	}
	writeTaggedJSON(w, req, map[string]any{
		"id":             1,
		"name":           repo.name,
		"full_name":      repo.owner + "/" + repo.name,
		"owner":          map[string]any{"login": repo.owner},
		"default_branch": strings.TrimSpace(branch),
		"private":        false,
	})
}

func (s *Server) getCommitSHA(w http.ResponseWriter, req *http.Request, repo repoRef, ref string) {
	if !acceptsSHA(req.Header.Get("Accept")) {
		writeError(w, http.StatusUnsupportedMediaType, "this fake serves only Accept: application/vnd.github.sha", "")
		return
	}
	if empty, err := isEmpty(repo.dir); err != nil {
		writeError(w, http.StatusInternalServerError, "Server Error", "")
		return
	} else if empty {
		writeError(w, http.StatusConflict, "Git Repository is empty.", "https://docs.github.com/rest/commits/commits#get-a-commit")
		return
	}
	sha, ok := peel(repo.dir, ref)
	if !ok {
		writeError(w, http.StatusUnprocessableEntity, "No commit found for SHA: "+ref, "https://docs.github.com/rest/commits/commits#get-a-commit")
		return
	}
	etag := `"` + sha + `"`
	w.Header().Set("ETag", etag)
	if matches(req.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.github.sha; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(sha))
}

type tagJSON struct {
	Name       string    `json:"name"`
	ZipballURL string    `json:"zipball_url"`
	TarballURL string    `json:"tarball_url"`
	Commit     commitRef `json:"commit"`
	NodeID     string    `json:"node_id"`
}

type commitRef struct {
	SHA string `json:"sha"`
	URL string `json:"url"`
}

func (s *Server) listTags(w http.ResponseWriter, req *http.Request, repo repoRef) {
	q := req.URL.Query()
	per := 30
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			n = 30
		}
		per = min(n, 100)
	}
	page := 1
	if v := q.Get("page"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 1 {
			page = n
		}
	}
	tags, err := peeledTags(repo.dir)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "Server Error", "")
		return
	}
	base := "http://" + req.Host + s.cfg.Prefix + "/repos/" + repo.owner + "/" + repo.name
	from := min((page-1)*per, len(tags))
	to := min(from+per, len(tags))
	body := make([]tagJSON, 0, to-from)
	for _, t := range tags[from:to] {
		body = append(body, tagJSON{
			Name:       t.name,
			ZipballURL: base + "/zipball/refs/tags/" + url.PathEscape(t.name),
			TarballURL: base + "/tarball/refs/tags/" + url.PathEscape(t.name),
			Commit:     commitRef{SHA: t.sha, URL: base + "/commits/" + t.sha},
			NodeID:     "REF_" + t.name,
		})
	}
	last := max(1, (len(tags)+per-1)/per)
	var links []string
	link := func(p int, rel string) {
		links = append(links, fmt.Sprintf(`<%s/tags?per_page=%d&page=%d>; rel="%s"`, base, per, p, rel))
	}
	if page > 1 {
		link(page-1, "prev")
	}
	if page < last {
		link(page+1, "next")
		link(last, "last")
	}
	if page > 1 {
		link(1, "first")
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	writeTaggedJSON(w, req, body)
}

// writeTaggedJSON answers v as JSON with a weak ETag of the body, as
// GitHub does, or 304 when If-None-Match names it.
func writeTaggedJSON(w http.ResponseWriter, req *http.Request, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "Server Error", "")
		return
	}
	sum := sha256.Sum256(data)
	etag := `W/"` + hex.EncodeToString(sum[:]) + `"`
	w.Header().Set("ETag", etag)
	if matches(req.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
}

func acceptsSHA(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt := strings.TrimSpace(strings.SplitN(part, ";", 2)[0])
		if mt == "application/vnd.github.sha" || mt == "application/vnd.github.v3.sha" {
			return true
		}
	}
	return false
}

// matches reports whether an If-None-Match header names etag. Like GitHub,
// it compares weakly: W/"x" and "x" match.
func matches(header, etag string) bool {
	if header == "" {
		return false
	}
	want := strings.TrimPrefix(etag, "W/")
	for _, v := range strings.Split(header, ",") {
		v = strings.TrimSpace(v)
		if v == "*" || strings.TrimPrefix(v, "W/") == want {
			return true
		}
	}
	return false
}

func writeError(w http.ResponseWriter, status int, message, docURL string) {
	body := map[string]string{"message": message}
	if docURL != "" {
		body["documentation_url"] = docURL
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

// recorder logs the status of a response as it is written.
type recorder struct {
	http.ResponseWriter
	logged func(status int)
	wrote  bool
}

func (r *recorder) WriteHeader(status int) {
	if !r.wrote {
		r.wrote = true
		r.logged(status)
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.WriteHeader(http.StatusOK)
	}
	return r.ResponseWriter.Write(b)
}

type tag struct {
	name, sha string
}

// peeledTags lists the tags that peel to a commit, sorted by name with the
// highest first (github.com returns newest-looking tags first too; callers
// must not rely on any order).
func peeledTags(dir string) ([]tag, error) {
	out, err := git(dir, "for-each-ref", "--sort=-refname",
		"--format=%(refname:lstrip=2)%00%(objecttype)%00%(objectname)%00%(*objecttype)%00%(*objectname)", "refs/tags/")
	if err != nil {
		return nil, err
	}
	var tags []tag
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(line, "\x00")
		if len(f) != 5 {
			continue
		}
		name, sha := f[0], ""
		switch {
		case f[1] == "commit":
			sha = f[2]
		case f[1] == "tag" && f[3] == "commit":
			sha = f[4]
		case f[1] == "tag" && f[3] == "tag": // a tag of a tag
			sha, _ = peel(dir, "refs/tags/"+name)
		}
		if sha != "" {
			tags = append(tags, tag{name: name, sha: sha})
		}
	}
	return tags, nil
}

// peel resolves ref as GitHub's commits endpoint does (a SHA, a branch or
// tag name, heads/X, tags/X, refs/heads/X, refs/tags/X) to a commit.
func peel(dir, ref string) (string, bool) {
	if strings.HasPrefix(ref, "-") || strings.ContainsAny(ref, "\x00\n") {
		return "", false
	}
	out, err := git(dir, "rev-parse", "--verify", "--quiet", "--end-of-options", ref+"^{commit}")
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(out), true
}

func isEmpty(dir string) (bool, error) {
	out, err := git(dir, "for-each-ref", "--count=1", "--format=%(refname)")
	if err != nil {
		return false, err
	}
	return strings.TrimSpace(out) == "", nil
}

// git runs git in dir and returns its standard output.
func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	cmd.Env = gitEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// gitEnv isolates git from the user's and the system's configuration.
func gitEnv() []string {
	return append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL="+os.DevNull,
		"GIT_TERMINAL_PROMPT=0",
		"LC_ALL=C",
	)
}
