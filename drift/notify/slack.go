package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/tracking"
)

// SlackConfig configures a Slack sink.
type SlackConfig struct {
	// WebhookURL is the incoming webhook's URL
	// (https://hooks.slack.com/services/…). It is a credential: errors
	// name only its host. Required.
	WebhookURL string
	// AdminURL, when set, is the admin page (e.g.
	// "https://ops.example.com/admin/"); messages link to it, filtered to
	// the entry's workspace. Defaults to "": no link.
	AdminURL string
	// Types keeps only these event types. Defaults to nil: every type.
	Types []tracking.EventType
	// Timeout bounds one request. Defaults to DefaultTimeout.
	Timeout time.Duration
	// Client sends the requests (a copy that refuses redirects). Defaults
	// to a new http.Client.
	Client *http.Client
	// AllowURL checks WebhookURL when the sink is made. Defaults to nil:
	// https only.
	AllowURL func(*url.URL) error
}

// Slack posts one message per event to a Slack incoming webhook: what
// moved (plugin, workspace, source and ref), from → to (version and short
// commit), the kind, and a link to the admin page. A tag-moved alarm
// stands out (a siren and "integrity alarm"); the update.queued written
// beside it is not posted twice.
type Slack struct {
	p     *poster
	admin string
	types map[tracking.EventType]bool
}

// NewSlack checks cfg and returns a Slack sink.
func NewSlack(cfg SlackConfig) (*Slack, error) {
	p, err := newPoster("slack", cfg.WebhookURL, cfg.AllowURL, cfg.Client, cfg.Timeout)
	if err != nil {
		return nil, err
	}
	// The URL's path is the credential: say no more than the host.
	if cfg.AdminURL != "" {
		if u, err := url.Parse(cfg.AdminURL); err != nil || u.Host == "" {
			return nil, fmt.Errorf("notify: slack: AdminURL %s: want an absolute URL", redact.Quote(cfg.AdminURL))
		}
	}
	s := &Slack{p: p, admin: cfg.AdminURL}
	if len(cfg.Types) > 0 {
		s.types = map[tracking.EventType]bool{}
		for _, t := range cfg.Types {
			s.types[t] = true
		}
	}
	return s, nil
}

// Deliver posts ev; use it as drift.Subscriber.Deliver. Events it does
// not post (filtered out, or the queued twin of an alarm) are delivered
// as done.
func (s *Slack) Deliver(ctx context.Context, ev tracking.Event) error {
	if s.types != nil && !s.types[ev.Type] {
		return nil
	}
	text, ok := s.Message(ev)
	if !ok {
		return nil
	}
	body, err := json.Marshal(map[string]string{"text": text})
	if err != nil {
		return fmt.Errorf("notify: slack: encode event %d: %w", ev.ID, err)
	}
	return s.p.post(ctx, body, nil)
}

// Message is the text Deliver posts for ev, in Slack's mrkdwn, and false
// when ev is not posted.
func (s *Slack) Message(ev tracking.Event) (string, bool) {
	if strings.HasPrefix(string(ev.Type), "upstream.") {
		var up tracking.Upstream
		if json.Unmarshal(ev.Payload, &up) != nil {
			return "", false
		}
		if ev.Type == tracking.EventUpstreamFailing {
			return fmt.Sprintf(":warning: *Upstream failing*: %s has failed %d times in a row: %s",
				esc(up.Key.String()), up.ConsecutiveFailures, esc(redact.Truncate(up.LastError, 300))), true
		}
		return fmt.Sprintf(":large_green_circle: *Upstream recovered*: %s resolves again", esc(up.Key.String())), true
	}
	var u tracking.Update
	if json.Unmarshal(ev.Payload, &u) != nil {
		return "", false
	}
	if ev.Type == tracking.EventUpdateQueued && u.Kind.Alarm() {
		return "", false // the alarm says it
	}
	what := fmt.Sprintf("*%s* in workspace *%s* (%s @ %s): %s → %s, kind %s",
		esc(u.PluginName), esc(u.WorkspaceID), esc(u.Source.String()), esc(u.Ref.String()),
		version(u.FromVersion, u.FromSHA), version(u.ToVersion, u.ToSHA), u.Kind)
	var head string
	switch ev.Type {
	case tracking.EventAlarmTagMoved:
		head = ":rotating_light: *Integrity alarm: tag moved*. The tag now points at another commit; it is never applied automatically, review it:"
	case tracking.EventAlarmHistoryRewritten:
		head = ":rotating_light: *Integrity alarm: history rewritten*. The branch was force-pushed to a history without the installed commit; it is never applied automatically, review it:"
	case tracking.EventUpdateRolledBack:
		head = ":rewind: *Rolled back*, and the commit rolled back from is held:"
	case tracking.EventUpdateQueued:
		head = ":arrow_up: *Update queued*:"
	case tracking.EventUpdateApplied:
		head = ":white_check_mark: *Update applied* by " + esc(u.DecidedBy) + ":"
	case tracking.EventUpdateApplyFailed:
		head = ":x: *Install failed* (attempt " + fmt.Sprint(u.Attempts) + "): " + esc(redact.Truncate(u.LastError, 300)) + ":"
	case tracking.EventUpdateRestartFailed:
		head = ":x: *Restart failed*: " + esc(redact.Truncate(u.RestartError, 300)) + ":"
	case tracking.EventUpdateDismissed:
		head = ":no_entry_sign: *Update dismissed* by " + esc(u.DecidedBy) + ":"
	case tracking.EventUpdateRestored:
		head = ":leftwards_arrow_with_hook: *Update restored* to pending:"
	case tracking.EventUpdateSuperseded:
		head = ":fast_forward: *Update superseded* (" + esc(u.Reason) + "):"
	default:
		head = "*" + esc(string(ev.Type)) + "*:"
	}
	msg := head + " " + what
	if s.admin != "" {
		link := s.admin
		sep := "?"
		if strings.Contains(link, "?") {
			sep = "&"
		}
		link += sep + "workspace=" + url.QueryEscape(u.WorkspaceID)
		msg += " <" + esc(link) + "|Open the admin page>"
	}
	return msg, true
}

// version is "v1.2.0 (abc1234)", or the short commit alone.
func version(v, sha string) string {
	short := sha
	if len(short) > 7 {
		short = short[:7]
	}
	if v == "" {
		return "`" + short + "`"
	}
	return esc(v) + " (`" + short + "`)"
}

// mrkdwnEscaper escapes the three characters Slack's mrkdwn reserves;
// built once, it is safe for concurrent use.
var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// esc escapes the three characters Slack's mrkdwn reserves.
func esc(s string) string { return mrkdwnEscaper.Replace(s) }
