package push

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// Secrets are the shared secrets webhooks are signed with. A provider
// whose secret is empty is refused (401): no webhook is ever accepted
// unsigned.
type Secrets struct {
	// GitHub signs X-Hub-Signature-256 (repository, organisation and
	// GitHub App webhooks alike).
	GitHub string
	// GitLab is the secret token GitLab sends in X-Gitlab-Token.
	GitLab string
	// Gitea signs X-Gitea-Signature, and X-Forgejo-Signature for Forgejo.
	Gitea string
	// Generic signs X-Plugindrift-Signature-256 of the generic form.
	Generic string
	// Repositories gives a repository its own secret, in place of its
	// provider's: the key is any URL of the repository (in a shape
	// tracking.ParseRepoURL reads, e.g. "https://github.com/acme/widget"),
	// the value the secret. A webhook naming that repository must be
	// signed with it; the provider's secret is not accepted for it.
	Repositories map[string]string
}

// Config configures a Handler. Store is required.
type Config struct {
	// Store finds the upstreams of a pushed repository and records the
	// check requests. Required.
	Store storage.Store
	// Secrets verify the webhooks. At least one must be set.
	Secrets Secrets
	// Wake, when set, is called after check requests were recorded, so
	// that this replica checks them at once instead of at its next poll:
	// pass (*drift.CheckWorker).Wake. Defaults to nil.
	Wake func()
	// MaxBodyBytes caps a request body; a larger one is answered 413 and
	// nothing else happens. Defaults to 4 MiB.
	MaxBodyBytes int64
	// ReplayWindow is how long a delivery id is remembered: the same
	// delivery within it is recognised and not processed twice. Defaults
	// to 7 days (GitHub lets an operator redeliver for 3).
	ReplayWindow time.Duration
	// Now returns the current time. Defaults to time.Now.
	Now func() time.Time
	// Logger receives one line per webhook acted on. Defaults to
	// discarding.
	Logger *slog.Logger
}

// Handler receives push webhooks. Create it with NewHandler.
type Handler struct {
	cfg      Config
	repoKeys map[tracking.RepoKey]string
	log      *slog.Logger
}

// NewHandler returns the receiver. It needs a Store and at least one
// secret; every key of Secrets.Repositories must be a repository URL.
// Errors wrap tracking.ErrInvalidArgument.
func NewHandler(cfg Config) (*Handler, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("push: NewHandler needs a Store: %w", tracking.ErrInvalidArgument)
	}
	s := cfg.Secrets
	if s.GitHub == "" && s.GitLab == "" && s.Gitea == "" && s.Generic == "" && len(s.Repositories) == 0 {
		return nil, fmt.Errorf("push: NewHandler needs at least one secret (Secrets.GitHub, GitLab, Gitea, Generic or Repositories): webhooks are never accepted unsigned: %w", tracking.ErrInvalidArgument)
	}
	if cfg.MaxBodyBytes < 0 || cfg.ReplayWindow < 0 {
		return nil, fmt.Errorf("push: MaxBodyBytes and ReplayWindow must not be negative: %w", tracking.ErrInvalidArgument)
	}
	keys := make(map[tracking.RepoKey]string, len(s.Repositories))
	for url, secret := range s.Repositories {
		k, err := tracking.ParseRepoURL(url)
		if err != nil {
			return nil, fmt.Errorf("push: Secrets.Repositories: %w", err)
		}
		if secret == "" {
			return nil, fmt.Errorf("push: Secrets.Repositories: the secret of %s is empty: %w", redact.Quote(k.String()), tracking.ErrInvalidArgument)
		}
		keys[k] = secret
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 4 << 20
	}
	if cfg.ReplayWindow == 0 {
		cfg.ReplayWindow = 7 * 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{cfg: cfg, repoKeys: keys, log: log}, nil
}

// The answers. Refusals say no more than "signature": which check failed
// (no secret, no header, a wrong one) is not told to the sender.
var (
	errMethod    = answer{http.StatusMethodNotAllowed, "method_not_allowed", "webhooks are POSTed"}
	errTooLarge  = answer{http.StatusRequestEntityTooLarge, "payload_too_large", "the payload is larger than this receiver accepts"}
	errSignature = answer{http.StatusUnauthorized, "unauthorized", "signature"}
	errStore     = answer{http.StatusServiceUnavailable, "unavailable", "the push could not be recorded; deliver it again later"}
	errRead      = answer{http.StatusBadRequest, "bad_request", "the body could not be read"}
)

type answer struct {
	status  int
	code    string
	message string
}

// ServeHTTP implements http.Handler. It answers:
//   - 202 {"status":"queued","upstreams":n} once the check requests are
//     committed to the store;
//   - 200 "pong" to a ping, "ignored" to an event that moves no ref,
//     "no upstreams" when no tracked upstream is concerned, "replayed" to
//     a delivery seen before; nothing is recorded for any of them;
//   - 401 "signature" for a missing or wrong signature, 413 for a body
//     over MaxBodyBytes, 400 for a signed payload that cannot be read,
//     405 for a method other than POST, 503 when the store failed (the
//     provider delivers again). Nothing is recorded for any of them.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.fail(w, errMethod)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.fail(w, errTooLarge)
		} else {
			h.fail(w, errRead)
		}
		return
	}
	provider, name := sender(r.Header)
	ev, parseErr := parse(provider, name, body)
	if !verify(provider, r.Header, body, h.secret(provider, ev.repos)) {
		h.log.WarnContext(r.Context(), "plugindrift: push webhook refused: signature", "provider", provider, "event", redact.Short(name))
		h.fail(w, errSignature)
		return
	}
	if parseErr != nil {
		h.fail(w, answer{http.StatusBadRequest, "bad_request", redact.Short(parseErr.Error())})
		return
	}
	switch ev.action {
	case actionPing:
		h.reply(w, http.StatusOK, reply{Status: "pong"})
		return
	case actionIgnore:
		h.reply(w, http.StatusOK, reply{Status: "ignored"})
		return
	}
	keys, err := h.affected(r, ev)
	if err != nil {
		h.log.ErrorContext(r.Context(), "plugindrift: push webhook: listing the repository's upstreams failed", "provider", provider, "error", err)
		h.fail(w, errStore)
		return
	}
	if len(keys) == 0 {
		h.reply(w, http.StatusOK, reply{Status: "no upstreams"})
		return
	}
	replayed, err := h.record(r, provider, keys)
	if err != nil {
		h.log.ErrorContext(r.Context(), "plugindrift: push webhook: recording the check requests failed", "provider", provider, "error", err)
		h.fail(w, errStore)
		return
	}
	if replayed {
		h.log.InfoContext(r.Context(), "plugindrift: push webhook replayed; ignored", "provider", provider, "repository", ev.repos[0].String())
		h.reply(w, http.StatusOK, reply{Status: "replayed"})
		return
	}
	h.log.InfoContext(r.Context(), "plugindrift: push received", "provider", provider, "event", redact.Short(name), "repository", ev.repos[0].String(), "upstreams", len(keys))
	if h.cfg.Wake != nil {
		h.cfg.Wake()
	}
	h.reply(w, http.StatusAccepted, reply{Status: "queued", Upstreams: len(keys)})
}

// parse reads the payload of the provider's event.
func parse(p Provider, name string, body []byte) (event, error) {
	switch p {
	case GitHub, Gitea:
		return parseHub(name, body)
	case GitLab:
		return parseGitLab(name, body)
	default:
		return parseGeneric(body)
	}
}

// secret is the secret a webhook naming repos must be signed with: the
// first of them that has its own, else the provider's.
func (h *Handler) secret(p Provider, repos []tracking.RepoKey) string {
	for _, k := range repos {
		if s, ok := h.repoKeys[k]; ok {
			return s
		}
	}
	s := h.cfg.Secrets
	switch p {
	case GitHub:
		return s.GitHub
	case GitLab:
		return s.GitLab
	case Gitea:
		return s.Gitea
	default:
		return s.Generic
	}
}

// affected lists the tracked upstreams of the event's repository whose
// ref it concerns, through the store's repository index.
func (h *Handler) affected(r *http.Request, ev event) ([]tracking.UpstreamKey, error) {
	var keys []tracking.UpstreamKey
	seen := map[tracking.UpstreamKey]bool{}
	for _, repo := range ev.repos {
		p := storage.ListRepositoryUpstreamsParams{Repository: repo, Limit: storage.MaxLimit}
		for {
			page, err := h.cfg.Store.ListRepositoryUpstreams(r.Context(), p)
			if err != nil {
				return nil, err
			}
			for _, u := range page {
				if !seen[u.Key] && ev.concerns(u.Key.Ref) {
					seen[u.Key] = true
					keys = append(keys, u.Key)
				}
			}
			if len(page) < p.Limit {
				break
			}
			p.AfterID = page[len(page)-1].ID
		}
	}
	return keys, nil
}

// record writes the check requests, at most storage.MaxPushKeys per
// transaction; the first carries the delivery id.
func (h *Handler) record(r *http.Request, p Provider, keys []tracking.UpstreamKey) (replayed bool, err error) {
	now := h.cfg.Now()
	params := storage.RecordPushParams{At: now}
	if id := deliveryID(p, r.Header); id != "" {
		params.DeliveryID = deliveryKey(p, id)
		params.DeliveryExpires = now.Add(h.cfg.ReplayWindow)
	}
	for len(keys) > 0 {
		n := min(len(keys), storage.MaxPushKeys)
		params.Keys = keys[:n]
		res, err := h.cfg.Store.RecordPush(r.Context(), params)
		if err != nil || res.Replayed {
			return res.Replayed, err
		}
		keys = keys[n:]
		params.DeliveryID, params.DeliveryExpires = "", time.Time{}
	}
	return false, nil
}

// reply is the JSON body of a 2xx answer.
type reply struct {
	Status    string `json:"status"`
	Upstreams int    `json:"upstreams,omitempty"`
}

func (h *Handler) reply(w http.ResponseWriter, status int, v reply) { writeJSON(w, status, v) }

// fail writes an error in the admin API's shape.
func (h *Handler) fail(w http.ResponseWriter, a answer) {
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	body.Error.Code, body.Error.Message = a.code, a.message
	writeJSON(w, a.status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(v) // plain structs of strings and ints
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
