package tracking_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/tracking"
)

// TestWireNamesNeverChange pins the strings that leave the process:
// stored in databases, sent in events, matched by operators' alert rules
// and subscribers. DESIGN §5 and §10 name them; events are added, never
// renamed.
func TestWireNamesNeverChange(t *testing.T) {
	for got, want := range map[string]string{
		string(tracking.EventUpdateQueued):          "update.queued",
		string(tracking.EventUpdateSuperseded):      "update.superseded",
		string(tracking.EventUpdateApplied):         "update.applied",
		string(tracking.EventUpdateApplyFailed):     "update.apply_failed",
		string(tracking.EventUpdateRestartFailed):   "update.restart_failed",
		string(tracking.EventUpdateDismissed):       "update.dismissed",
		string(tracking.EventUpdateRestored):        "update.restored",
		string(tracking.EventUpdateRolledBack):      "update.rolled_back",
		string(tracking.EventAlarmTagMoved):         "alarm.tag_moved",
		string(tracking.EventAlarmHistoryRewritten): "alarm.history_rewritten",
		string(tracking.EventUpstreamFailing):       "upstream.failing",
		string(tracking.EventUpstreamRecovered):     "upstream.recovered",

		string(tracking.StatusPending):    "pending",
		string(tracking.StatusApplying):   "applying",
		string(tracking.StatusApplied):    "applied",
		string(tracking.StatusDismissed):  "dismissed",
		string(tracking.StatusSuperseded): "superseded",

		string(tracking.KindNewVersion):       "new-version",
		string(tracking.KindNewCommit):        "new-commit",
		string(tracking.KindTagMoved):         "tag-moved",
		string(tracking.KindHistoryRewritten): "history-rewritten",
		string(tracking.KindRollback):         "rollback",

		tracking.ReasonUpToDate:      "up-to-date",
		tracking.ReasonNewerUpstream: "newer-upstream",
		tracking.ReasonUninstalled:   "uninstalled",
		tracking.ReasonReinstalled:   "reinstalled",
		tracking.ReasonRolledBack:    "rolled-back",

		tracking.VerificationNotChecked.String():      "not-checked",
		tracking.VerificationVerified.String():        "verified",
		tracking.VerificationUnsigned.String():        "unsigned",
		tracking.VerificationUntrustedSigner.String(): "untrusted-signer",
		tracking.VerificationBadSignature.String():    "bad-signature",
	} {
		assert.Equal(t, want, got)
	}
}

func TestVerificationValidate(t *testing.T) {
	assert.NoError(t, tracking.Verification{}.Validate())
	assert.NoError(t, tracking.Verification{State: tracking.VerificationVerified, Signer: "release-team"}.Validate())
	for name, v := range map[string]tracking.Verification{
		"spelled-out zero state": {State: "not-checked"},
		"unknown state":          {State: "trusted"},
		"control character":      {State: tracking.VerificationUnsigned, Detail: "a\nb"},
		"over-long signer":       {State: tracking.VerificationVerified, Signer: strings.Repeat("s", tracking.MaxSignerLen+1)},
		"invalid UTF-8":          {State: tracking.VerificationUnsigned, Detail: "\xff"},
	} {
		assert.ErrorIs(t, v.Validate(), tracking.ErrInvalidArgument, name)
	}
	var s tracking.VerificationState
	require.NoError(t, s.UnmarshalText([]byte("not-checked")))
	assert.Equal(t, tracking.VerificationNotChecked, s)
	assert.Error(t, s.UnmarshalText([]byte("")), "the zero state is written not-checked")
}
