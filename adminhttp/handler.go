package adminhttp

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/storage"
)

// Sentinel errors an Authorize function returns to choose the response.
var (
	// ErrUnauthenticated: the request carries no valid credentials. The
	// handler answers 401 with a WWW-Authenticate challenge
	// (Config.AuthChallenge).
	ErrUnauthenticated = errors.New("adminhttp: unauthenticated")
	// ErrForbidden: the caller is known but may not operate the queue. The
	// handler answers 403.
	ErrForbidden = errors.New("adminhttp: forbidden")
)

// DefaultPrefix is the path the handler serves under when Config.Prefix is
// empty.
const DefaultPrefix = "/admin"

// DefaultMaxBodyBytes caps request bodies when Config.MaxBodyBytes is 0.
const DefaultMaxBodyBytes = 64 << 10

// DefaultSweepWait is how long a requested sweep is waited for when
// Config.SweepWait is 0.
const DefaultSweepWait = 5 * time.Second

// AnonymousActor is the actor recorded as decided_by when the handler runs
// with Config.AllowUnauthenticated and no Authorize function.
const AnonymousActor = "anonymous"

// Config configures NewHandler. Updater, Store and Authorize (or
// AllowUnauthenticated) are required; every other field has a default.
type Config struct {
	// Updater applies and dismisses queue entries. Required.
	Updater *drift.Updater
	// Sweeper runs a sweep on POST {prefix}/sweeps and behind the page's
	// "Sweep now" button, with drift.Sweeper.Trigger (so the sweep never
	// depends on the request), and tells GET {prefix}/sweeps/latest and the
	// page how the latest one went. Optional: without it the sweep routes
	// answer 501 with code "not_implemented" and the page shows no button.
	// Defaults to nil.
	Sweeper *drift.Sweeper
	// SweepWait is how long POST {prefix}/sweeps and "Sweep now" wait for
	// the sweep to end before answering that it is still running (202
	// Accepted, or the page saying so); the sweep goes on either way.
	// Defaults to DefaultSweepWait (5 seconds).
	SweepWait time.Duration
	// Store is read for the lists and the page; it should be the store the
	// Updater writes to. Required.
	Store storage.Store

	// Authorize decides who makes a request and whether they may perform
	// op, the operation the request's route names (see Operation). It runs
	// before anything else on every request but the stylesheet's, and
	// also for paths that do not exist (as OpRead). The page also asks it,
	// once per operation its controls perform (OpApply, OpDismiss,
	// OpSweep, OpHolds, OpRollback), and leaves out the controls of those
	// refused. It returns
	// the actor (recorded as decided_by; non-empty, at most
	// drift.MaxActorLen bytes of printable UTF-8), or an error:
	// ErrUnauthenticated (→ 401, or OnUnauthenticated), ErrForbidden (→
	// 403); any other error is logged and answered 403. Required unless
	// AllowUnauthenticated.
	Authorize func(r *http.Request, op Operation) (actor string, err error)
	// OnUnauthenticated, when set, answers the page's requests (GET
	// {prefix}/ and its form posts) that Authorize refused with
	// ErrUnauthenticated, instead of the 401 page: a host typically
	// redirects to its login. API routes still answer 401. Defaults to nil.
	OnUnauthenticated func(w http.ResponseWriter, r *http.Request)
	// AllowUnauthenticated lets NewHandler run without Authorize: every
	// request is then made by AnonymousActor. For demos on a trusted
	// machine only; NewHandler logs a warning. Defaults to false.
	AllowUnauthenticated bool
	// AuthChallenge is the WWW-Authenticate header sent with 401
	// responses. Defaults to `Bearer realm="plugindrift"`; a host that uses
	// HTTP Basic authentication sets `Basic realm="…"` so browsers prompt.
	AuthChallenge string

	// Prefix is the path under which the handler is mounted, as seen in
	// the request URL: the handler neither expects nor tolerates
	// http.StripPrefix. It must begin with "/" and be a clean path of
	// letters, digits and "-._~/"; "/" mounts at the root. Defaults to
	// DefaultPrefix ("/admin").
	Prefix string
	// TrustedOrigins lists origins ("https://ops.example.com") whose
	// cross-origin browser requests may still POST; see
	// http.CrossOriginProtection.AddTrustedOrigin. Defaults to none.
	TrustedOrigins []string
	// Logger receives denied requests and every internal error with its
	// full text (which responses never carry). Defaults to discarding.
	Logger *slog.Logger
	// MaxBodyBytes caps request bodies; a larger one is answered 413.
	// Defaults to DefaultMaxBodyBytes (64 KiB).
	MaxBodyBytes int64
	// GitHubURL is the web address of GitHub sources written without a
	// host (github://owner/repo), for the page's compare and commit links;
	// a source with a host (GitHub Enterprise) links to https://<host>.
	// Defaults to DefaultGitHubURL ("https://github.com").
	GitHubURL string
	// GitHosts says how to link to the compare and commit pages of git
	// sources, by their host as tracking.Source.Host gives it
	// ("gitlab.example.com"); see GitHost. Entries of other git hosts
	// have no links. Defaults to none.
	GitHosts map[string]GitHost

	// Now returns the current time, for the ages shown on the page.
	// Defaults to time.Now.
	Now func() time.Time
}

// handler is the http.Handler NewHandler returns.
type handler struct {
	updater           *drift.Updater
	sweeper           *drift.Sweeper
	store             storage.Store
	authorizeFn       func(*http.Request, Operation) (string, error)
	onUnauthenticated func(http.ResponseWriter, *http.Request)
	challenge         string
	prefix            string // "" when mounted at the root
	log               *slog.Logger
	maxBody           int64
	sweepWait         time.Duration
	now               func() time.Time

	links  links
	routes http.Handler // the ServeMux; each route authorizes its own operation
	cop    *http.CrossOriginProtection
	page   *template.Template
	errors *template.Template
	css    []byte
	cssURL string
}

// NewHandler returns the admin handler: the JSON API and the page, all
// under cfg.Prefix. It returns an error when a required field is missing,
// Authorize is nil without AllowUnauthenticated, or Prefix or a trusted
// origin is malformed.
func NewHandler(cfg Config) (http.Handler, error) {
	if cfg.Updater == nil {
		return nil, errors.New("adminhttp: Config.Updater is required")
	}
	if cfg.Store == nil {
		return nil, errors.New("adminhttp: Config.Store is required")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	authorize := cfg.Authorize
	if authorize == nil {
		if !cfg.AllowUnauthenticated {
			return nil, errors.New("adminhttp: Config.Authorize is required: it decides who may apply updates (set AllowUnauthenticated only for demos)")
		}
		log.Warn("adminhttp: running without authorization: anyone who reaches the handler can apply and dismiss updates")
		authorize = func(*http.Request, Operation) (string, error) { return AnonymousActor, nil }
	}
	prefix, err := cleanPrefix(cfg.Prefix)
	if err != nil {
		return nil, err
	}
	if cfg.MaxBodyBytes < 0 {
		return nil, fmt.Errorf("adminhttp: Config.MaxBodyBytes is %d: want 0 (for the default) or more", cfg.MaxBodyBytes)
	}
	if cfg.SweepWait < 0 {
		return nil, fmt.Errorf("adminhttp: Config.SweepWait is %v: want 0 (for the default, %v) or more", cfg.SweepWait, DefaultSweepWait)
	}
	h := &handler{
		updater:           cfg.Updater,
		sweeper:           cfg.Sweeper,
		store:             cfg.Store,
		authorizeFn:       authorize,
		onUnauthenticated: cfg.OnUnauthenticated,
		challenge:         cfg.AuthChallenge,
		prefix:            prefix,
		log:               log,
		maxBody:           cfg.MaxBodyBytes,
		sweepWait:         cfg.SweepWait,
		now:               cfg.Now,
	}
	if h.challenge == "" {
		h.challenge = `Bearer realm="plugindrift"`
	}
	if h.maxBody == 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	if h.sweepWait == 0 {
		h.sweepWait = DefaultSweepWait
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.links, err = newLinks(cfg.GitHubURL, cfg.GitHosts); err != nil {
		return nil, err
	}
	if err := h.loadAssets(); err != nil {
		return nil, err
	}

	h.cop = http.NewCrossOriginProtection()
	for _, o := range cfg.TrustedOrigins {
		if err := h.cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("adminhttp: Config.TrustedOrigins: %w", err)
		}
	}
	h.routes = h.mux()
	return h, nil
}

// cleanPrefix validates a mount prefix and returns it without its trailing
// slash ("" for the root).
func cleanPrefix(p string) (string, error) {
	if p == "" {
		return DefaultPrefix, nil
	}
	if p == "/" {
		return "", nil
	}
	bad := func(why string) error {
		return fmt.Errorf("adminhttp: Config.Prefix %s %s: write it like %q", redact.Quote(p), why, DefaultPrefix)
	}
	if !strings.HasPrefix(p, "/") {
		return "", bad("does not begin with /")
	}
	p = strings.TrimSuffix(p, "/")
	for _, c := range []byte(p) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~/", c) >= 0) {
			return "", bad("may only hold letters, digits and -._~/")
		}
	}
	if p == "" || strings.HasSuffix(p, "/") || !canonicalPath(p) {
		return "", bad("is not a clean path")
	}
	return p, nil
}

// canonicalPath reports whether p has no empty, "." or ".." segment (a
// trailing slash aside). Such paths are refused instead of being cleaned,
// so that an id like "%2e%2e" never reaches a route by redirection.
func canonicalPath(p string) bool {
	segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, s := range segs {
		if s == "." || s == ".." || (s == "" && i != len(segs)-1) {
			return false
		}
	}
	return true
}

type actorKey struct{}

func actorOf(ctx context.Context) string {
	a, _ := ctx.Value(actorKey{}).(string)
	return a
}

// ServeHTTP refuses paths that are not canonical and routes the request;
// each route authorizes its own operation before anything else. A path
// that does not exist, or is refused, is authorized as OpRead first, so
// that nothing, not even whether a path exists, is revealed to an
// unauthorized caller.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Referrer-Policy", "same-origin")
	if !canonicalPath(r.URL.Path) {
		h.guard(OpRead, func(w http.ResponseWriter, r *http.Request) {
			h.fail(w, r, errBadRequest("the path has an empty, \".\" or \"..\" segment"))
		})(w, r)
		return
	}
	if h.prefix != "" && r.URL.Path == h.prefix && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		h.guard(OpRead, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, h.pageURL(nil), http.StatusMovedPermanently)
		})(w, r)
		return
	}
	h.routes.ServeHTTP(w, r)
}

// route is one path of the handler: the operation and handler of each
// method it allows.
type route struct {
	path    string // after the prefix
	methods map[string]opHandler
}

// opHandler is a route's handler for one method, with the operation it
// performs ("" for the stylesheet, served to anyone).
type opHandler struct {
	op Operation
	fn http.HandlerFunc
}

// mux registers every route twice: "METHOD path" for each allowed method,
// and the bare path, which answers 405 with the Allow header.
func (h *handler) mux() *http.ServeMux {
	routes := []route{
		{"/plugin-updates", map[string]opHandler{http.MethodGet: {OpRead, h.listUpdates}}},
		{"/plugin-updates-pending", map[string]opHandler{http.MethodGet: {OpRead, h.listPending}}},
		{"/plugin-updates/{id}", map[string]opHandler{http.MethodGet: {OpRead, h.getUpdate}}},
		{"/plugin-updates/{id}/apply", map[string]opHandler{http.MethodPost: {OpApply, h.apply}}},
		{"/plugin-updates/{id}/dismiss", map[string]opHandler{http.MethodPost: {OpDismiss, h.dismiss}}},
		{"/plugin-updates/{id}/restore", map[string]opHandler{http.MethodPost: {OpDismiss, h.restore}}},
		{"/bulk/apply", map[string]opHandler{http.MethodPost: {OpApply, h.bulk(opApply)}}},
		{"/bulk/dismiss", map[string]opHandler{http.MethodPost: {OpDismiss, h.bulk(opDismiss)}}},
		{"/bulk/restore", map[string]opHandler{http.MethodPost: {OpDismiss, h.bulk(opRestore)}}},
		{"/sweeps", map[string]opHandler{http.MethodPost: {OpSweep, h.sweep}}},
		{"/sweeps/latest", map[string]opHandler{http.MethodGet: {OpRead, h.latestSweep}}},
		{"/upstreams/check", map[string]opHandler{http.MethodPost: {OpSweep, h.checkUpstream}}},
		{"/installs", map[string]opHandler{http.MethodGet: {OpRead, h.listInstalls}}},

		{"/{$}", map[string]opHandler{http.MethodGet: {OpRead, h.showPage}}},
		{"/ui/plugin-updates/{id}/apply", map[string]opHandler{http.MethodPost: {OpApply, h.formApply}}},
		{"/ui/plugin-updates/{id}/dismiss", map[string]opHandler{http.MethodPost: {OpDismiss, h.formDismiss}}},
		{"/ui/plugin-updates/{id}/restore", map[string]opHandler{http.MethodPost: {OpDismiss, h.formRestore}}},
		{"/ui/bulk/apply", map[string]opHandler{http.MethodPost: {OpApply, h.formBulk(opApply)}}},
		{"/ui/bulk/dismiss", map[string]opHandler{http.MethodPost: {OpDismiss, h.formBulk(opDismiss)}}},
		{"/ui/sweeps", map[string]opHandler{http.MethodPost: {OpSweep, h.formSweep}}},
		{"/ui/upstreams/check", map[string]opHandler{http.MethodPost: {OpSweep, h.formCheck}}},
		{"/ui/holds/{id}/release", map[string]opHandler{http.MethodPost: {OpHolds, h.formReleaseHold}}},
		{"/ui/installs/{workspace}/{plugin}/rollback", map[string]opHandler{http.MethodPost: {OpRollback, h.formRollback}}},
		{"/static/admin.css", map[string]opHandler{http.MethodGet: {"", h.serveCSS}}},
	}
	routes = append(routes, h.eventRoutes()...)     // operation "events" (events.go)
	routes = append(routes, h.integrityRoutes()...) // integrity.go
	mux := http.NewServeMux()
	for _, rt := range routes {
		path := h.prefix + rt.path
		var allow []string
		public := false
		for method, oh := range rt.methods {
			mux.HandleFunc(method+" "+path, h.guard(oh.op, oh.fn))
			public = public || oh.op == ""
			allow = append(allow, method)
			if method == http.MethodGet {
				allow = append(allow, http.MethodHead)
			}
		}
		allowed := strings.Join(sortedMethods(allow), ", ")
		notAllowed := func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allowed)
			h.fail(w, r, &apiError{status: http.StatusMethodNotAllowed, code: codeMethodNotAllowed,
				message: fmt.Sprintf("%s is not allowed here; allowed: %s", redact.Truncate(r.Method, 16), allowed)})
		}
		if public {
			mux.HandleFunc(path, notAllowed)
		} else {
			mux.HandleFunc(path, h.guard(OpRead, notAllowed))
		}
	}
	mux.HandleFunc("/", h.guard(OpRead, func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, &apiError{status: http.StatusNotFound, code: codeNotFound, message: "no such page or API route"})
	}))
	return mux
}

func sortedMethods(ms []string) []string {
	order := map[string]int{http.MethodGet: 0, http.MethodHead: 1, http.MethodPost: 2}
	for i := 1; i < len(ms); i++ {
		for j := i; j > 0 && order[ms[j]] < order[ms[j-1]]; j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
	return ms
}

// isPagePath reports whether errors on path are shown to a browser (HTML)
// rather than to an API client (JSON).
func (h *handler) isPagePath(path string) bool {
	return path == h.prefix+"/" || path == h.prefix ||
		strings.HasPrefix(path, h.prefix+"/ui/") || strings.HasPrefix(path, h.prefix+"/static/")
}
