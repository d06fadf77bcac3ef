package tracking

import (
	"encoding/json"
	"time"

	"github.com/plugindrift/plugindrift/internal/redact"
)

// EventType names what an [Event] reports. Types are added, never renamed:
// subscribers match on them.
type EventType string

// Queue transitions, integrity alarms and upstream health changes. Each is
// written by the store in the same transaction as the change it reports.
const (
	// EventUpdateQueued: a new pending entry (payload: the entry).
	EventUpdateQueued EventType = "update.queued"
	// EventUpdateSuperseded: an open entry was retired by a newer
	// upstream, the install reaching the commit, a reinstall or an
	// uninstall (payload: the entry, Reason says which).
	EventUpdateSuperseded EventType = "update.superseded"
	// EventUpdateApplied: the install of an entry was recorded.
	EventUpdateApplied EventType = "update.applied"
	// EventUpdateApplyFailed: an install failed; the entry is pending
	// again with Attempts and LastError.
	EventUpdateApplyFailed EventType = "update.apply_failed"
	// EventUpdateRestartFailed: the restart after an applied entry failed
	// (RestartError says how).
	EventUpdateRestartFailed EventType = "update.restart_failed"
	// EventUpdateDismissed: an operator dismissed a pending entry.
	EventUpdateDismissed EventType = "update.dismissed"
	// EventUpdateRestored: an operator put a dismissed entry back to
	// pending, its change being still current.
	EventUpdateRestored EventType = "update.restored"
	// EventUpdateRolledBack: an operator rolled an install back
	// (drift.Updater.Rollback): its rollback entry (kind rollback, FromSHA
	// the commit rolled back from and now held, ToSHA the earlier commit)
	// was created, already applying. Its update.applied or
	// update.apply_failed follows as for any entry; the open entries the
	// rollback retired are update.superseded.
	EventUpdateRolledBack EventType = "update.rolled_back"
	// EventAlarmTagMoved: an entry of kind tag-moved was queued: an exact
	// tag now points at another commit. Written beside its
	// EventUpdateQueued, with the same payload.
	EventAlarmTagMoved EventType = "alarm.tag_moved"
	// EventAlarmHistoryRewritten: an entry of kind history-rewritten was
	// queued: a followed branch was force-pushed to a history without the
	// installed commit. Written beside its EventUpdateQueued, with the
	// same payload.
	EventAlarmHistoryRewritten EventType = "alarm.history_rewritten"
	// EventUpstreamFailing: an upstream's resolution failed
	// [FailingThreshold] times in a row (payload: the upstream).
	EventUpstreamFailing EventType = "upstream.failing"
	// EventUpstreamRecovered: the first success of an upstream that was
	// failing (payload: the upstream after the success).
	EventUpstreamRecovered EventType = "upstream.recovered"
)

// FailingThreshold is how many consecutive failed resolutions make an
// upstream failing: the failure that reaches it writes one
// [EventUpstreamFailing], further failures write nothing, and the next
// success writes one [EventUpstreamRecovered]. It is one constant for every
// store, so that every backend reports the same health.
const FailingThreshold = 3

// Event is one row of the events outbox: something that happened to the
// queue or to an upstream, written in the same transaction as the change.
//
// ID is assigned by the store, grows with every event and is stable: a
// delivery carries it, so a receiver drops duplicates by it. WorkspaceID,
// PluginName and UpdateID name the entry of an update or alarm event (zero
// for upstream events). Payload is the JSON of the entry ([Update]) or
// upstream ([Upstream]) after the change, in the admin API's field names,
// with its free text redacted: it never holds a credential.
type Event struct {
	ID          int64           `json:"id"`
	Type        EventType       `json:"type"`
	At          time.Time       `json:"at"`
	WorkspaceID string          `json:"workspace_id"`
	PluginName  string          `json:"plugin_name"`
	UpdateID    int64           `json:"update_id"`
	Payload     json.RawMessage `json:"payload"`
}

// UpdateEvents returns the events that report entry u (as it is after the
// change) moving by t, at time at: one event of type t, and, for a queued
// integrity alarm ([UpdateKind.Alarm]), its alarm beside it:
// [EventAlarmTagMoved] for tag-moved, [EventAlarmHistoryRewritten] for
// history-rewritten. This is
// the one place that decides which events a transition writes; every store
// calls it. IDs are left for the store to assign.
func UpdateEvents(t EventType, u Update, at time.Time) []Event {
	payload := updatePayload(u)
	ev := Event{Type: t, At: at, WorkspaceID: u.WorkspaceID, PluginName: u.PluginName, UpdateID: u.ID, Payload: payload}
	if t == EventUpdateQueued && u.Kind.Alarm() {
		alarm := ev
		alarm.Type = EventAlarmTagMoved
		if u.Kind == KindHistoryRewritten {
			alarm.Type = EventAlarmHistoryRewritten
		}
		return []Event{ev, alarm}
	}
	return []Event{ev}
}

// UpstreamEvent returns the event of type t reporting upstream u (as it is
// after the change) at time at.
func UpstreamEvent(t EventType, u Upstream, at time.Time) Event {
	u.LastError = redact.String(u.LastError)
	return Event{Type: t, At: at, Payload: mustJSON(u)}
}

// UpstreamHealthEvent returns the health event that moving from before to
// after consecutive failures writes, if any: [EventUpstreamFailing] when the
// count reaches [FailingThreshold], [EventUpstreamRecovered] when a failing
// upstream (at least FailingThreshold failures) is back to zero.
func UpstreamHealthEvent(before, after int) (EventType, bool) {
	switch {
	case before < FailingThreshold && after >= FailingThreshold:
		return EventUpstreamFailing, true
	case before >= FailingThreshold && after == 0:
		return EventUpstreamRecovered, true
	}
	return "", false
}

func updatePayload(u Update) json.RawMessage {
	// The text fields come from installers, restarters and operators;
	// they were redacted where they entered, and are again here, so that
	// a payload never depends on every writer having done it.
	u.LastError = redact.String(u.LastError)
	u.RestartError = redact.String(u.RestartError)
	u.Reason = redact.String(u.Reason)
	u.DecidedBy = redact.String(u.DecidedBy)
	return mustJSON(u)
}

// mustJSON marshals the plain types of this package, which always marshal.
func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("tracking: marshal event payload: " + err.Error())
	}
	return b
}
