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

	// Authorize decides who makes a request. It runs before anything else,
	// on every request, the page and its stylesheet included. It returns
	// the actor (recorded as decided_by; non-empty, at most
	// drift.MaxActorLen bytes of printable UTF-8), or an error:
	// ErrUnauthenticated (→ 401), ErrForbidden (→ 403); any other error
	// is logged and answered 403. Required unless AllowUnauthenticated.
	Authorize func(*http.Request) (actor string, err error)
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
	// Now returns the current time, for the ages shown on the page.
	// Defaults to time.Now.
	Now func() time.Time
}

// handler is the http.Handler NewHandler returns.
type handler struct {
	updater   *drift.Updater
	sweeper   *drift.Sweeper
	store     storage.Store
	authorize func(*http.Request) (string, error)
	challenge string
	prefix    string // "" when mounted at the root
	log       *slog.Logger
	maxBody   int64
	sweepWait time.Duration
	now       func() time.Time

	routes http.Handler // the ServeMux behind cross-origin protection
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
		authorize = func(*http.Request) (string, error) { return AnonymousActor, nil }
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
		updater:   cfg.Updater,
		sweeper:   cfg.Sweeper,
		store:     cfg.Store,
		authorize: authorize,
		challenge: cfg.AuthChallenge,
		prefix:    prefix,
		log:       log,
		maxBody:   cfg.MaxBodyBytes,
		sweepWait: cfg.SweepWait,
		now:       cfg.Now,
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
	if err := h.loadAssets(); err != nil {
		return nil, err
	}

	cop := http.NewCrossOriginProtection()
	for _, o := range cfg.TrustedOrigins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("adminhttp: Config.TrustedOrigins: %w", err)
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.log.WarnContext(r.Context(), "adminhttp: cross-origin request refused",
			"method", r.Method, "path", r.URL.Path, "origin", r.Header.Get("Origin"),
			"sec_fetch_site", r.Header.Get("Sec-Fetch-Site"), "actor", actorOf(r.Context()))
		h.fail(w, r, errCrossOrigin)
	}))
	h.routes = cop.Handler(h.mux())
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

// ServeHTTP authorizes the request, refuses paths that are not canonical,
// and routes it. Authorization comes first so that nothing, not even
// whether a path exists, is revealed to an unauthorized caller.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Referrer-Policy", "same-origin")
	actor, err := h.authorize(r)
	if err == nil {
		// Held to what the Updater can record, so that a misbehaving
		// Authorize is caught here rather than as a bad request later.
		err = drift.ValidateActor(actor)
		if err != nil {
			h.log.ErrorContext(r.Context(), "adminhttp: Authorize returned an unusable actor; request denied", "path", r.URL.Path, "error", err)
			err = ErrForbidden
		}
	}
	if err != nil {
		h.deny(w, r, err)
		return
	}
	r = r.WithContext(context.WithValue(r.Context(), actorKey{}, actor))
	if !canonicalPath(r.URL.Path) {
		h.fail(w, r, errBadRequest("the path has an empty, \".\" or \"..\" segment"))
		return
	}
	if h.prefix != "" && r.URL.Path == h.prefix && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		http.Redirect(w, r, h.pageURL(nil), http.StatusMovedPermanently)
		return
	}
	h.routes.ServeHTTP(w, r)
}

// deny answers a request whose Authorize failed.
func (h *handler) deny(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrUnauthenticated):
		h.log.DebugContext(r.Context(), "adminhttp: unauthenticated request", "method", r.Method, "path", r.URL.Path)
		w.Header().Set("WWW-Authenticate", h.challenge)
		h.fail(w, r, errUnauthenticated)
	case errors.Is(err, ErrForbidden):
		h.log.InfoContext(r.Context(), "adminhttp: forbidden request", "method", r.Method, "path", r.URL.Path)
		h.fail(w, r, errForbidden)
	default:
		h.log.WarnContext(r.Context(), "adminhttp: Authorize failed; request denied", "method", r.Method, "path", r.URL.Path, "error", err)
		h.fail(w, r, errForbidden)
	}
}

// route is one path of the handler: the handler of each method it allows.
type route struct {
	path    string // after the prefix
	methods map[string]http.HandlerFunc
}

// mux registers every route twice: "METHOD path" for each allowed method,
// and the bare path, which answers 405 with the Allow header.
func (h *handler) mux() *http.ServeMux {
	routes := []route{
		{"/plugin-updates", map[string]http.HandlerFunc{http.MethodGet: h.listUpdates}},
		{"/plugin-updates-pending", map[string]http.HandlerFunc{http.MethodGet: h.listPending}},
		{"/plugin-updates/{id}", map[string]http.HandlerFunc{http.MethodGet: h.getUpdate}},
		{"/plugin-updates/{id}/apply", map[string]http.HandlerFunc{http.MethodPost: h.apply}},
		{"/plugin-updates/{id}/dismiss", map[string]http.HandlerFunc{http.MethodPost: h.dismiss}},
		{"/sweeps", map[string]http.HandlerFunc{http.MethodPost: h.sweep}},
		{"/sweeps/latest", map[string]http.HandlerFunc{http.MethodGet: h.latestSweep}},
		{"/installs", map[string]http.HandlerFunc{http.MethodGet: h.listInstalls}},

		{"/{$}", map[string]http.HandlerFunc{http.MethodGet: h.showPage}},
		{"/ui/plugin-updates/{id}/apply", map[string]http.HandlerFunc{http.MethodPost: h.formApply}},
		{"/ui/plugin-updates/{id}/dismiss", map[string]http.HandlerFunc{http.MethodPost: h.formDismiss}},
		{"/ui/sweeps", map[string]http.HandlerFunc{http.MethodPost: h.formSweep}},
		{"/static/admin.css", map[string]http.HandlerFunc{http.MethodGet: h.serveCSS}},
	}
	routes = append(routes, h.integrityRoutes()...) // integrity.go
	mux := http.NewServeMux()
	for _, rt := range routes {
		path := h.prefix + rt.path
		var allow []string
		for method, fn := range rt.methods {
			mux.HandleFunc(method+" "+path, fn)
			allow = append(allow, method)
			if method == http.MethodGet {
				allow = append(allow, http.MethodHead)
			}
		}
		allowed := strings.Join(sortedMethods(allow), ", ")
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allowed)
			h.fail(w, r, &apiError{status: http.StatusMethodNotAllowed, code: codeMethodNotAllowed,
				message: fmt.Sprintf("%s is not allowed here; allowed: %s", redact.Truncate(r.Method, 16), allowed)})
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, &apiError{status: http.StatusNotFound, code: codeNotFound, message: "no such page or API route"})
	})
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
