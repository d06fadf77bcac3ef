package adminhttp_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// unsignedRequired is what a require policy records of an unsigned
// commit: it blocks Apply.
var unsignedRequired = tracking.Verification{
	State: tracking.VerificationUnsigned, By: "plugindrift", Detail: "commit is not signed", Required: true, Policy: "policy-1",
}

// verify records v as the signature check of u's commit, as a sweep
// whose trust policy judged it does: the open entry takes it. (The
// tests' Sweeper has no Verifier, so a later sweep records not-checked
// again.)
func (e *env) verify(u tracking.Update, v tracking.Verification) tracking.Update {
	e.t.Helper()
	_, err := e.store.Reconcile(e.t.Context(), storage.ReconcileParams{
		Key: tracking.UpstreamKey{Source: u.Source, Ref: u.Ref}, SHA: u.ToSHA, Version: u.ToVersion, Now: e.clock.Now(), Verification: v,
	})
	require.NoError(e.t, err)
	got := e.get(u.ID)
	require.Equal(e.t, v, got.Verification, "the open entry took the verification")
	return got
}

// TestUpdateJSONVerification: every update carries its verification,
// with blocks saying whether Apply refuses it, and the override.
func TestUpdateJSONVerification(t *testing.T) {
	e := newEnv(t)
	get := func(id int64) map[string]any {
		w := e.do(req{method: "GET", path: path("/plugin-updates/%d", id)})
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		return decode[updateBody](t, w).Update
	}
	assert.Equal(t, map[string]any{"state": "not-checked", "signer": "", "by": "", "detail": "", "required": false, "blocks": false},
		get(e.beta.ID)["verification"], "the zero verification is not-checked")
	assert.Equal(t, "", get(e.beta.ID)["override"])

	e.verify(e.alpha, tracking.Verification{State: tracking.VerificationVerified, Signer: "release@acme.example", By: "plugindrift",
		Detail: "tag v1.1.0: good signature", Required: true, Policy: "policy-1"})
	assert.Equal(t, map[string]any{"state": "verified", "signer": "release@acme.example", "by": "plugindrift",
		"detail": "tag v1.1.0: good signature", "required": true, "blocks": false}, get(e.alpha.ID)["verification"])

	e.verify(e.beta, unsignedRequired)
	assert.Equal(t, map[string]any{"state": "unsigned", "signer": "", "by": "plugindrift", "detail": "commit is not signed",
		"required": true, "blocks": true}, get(e.beta.ID)["verification"])
}

// TestApplyBlockedNeedsOverride: an entry its trust policy blocks is
// refused with 409 verification_required, saying how to override, and
// nothing changes; a missing, blank, hostile or too long reason is 400
// and nothing changes; a good one applies it and is recorded.
func TestApplyBlockedNeedsOverride(t *testing.T) {
	e := newEnv(t)
	e.verify(e.alpha, unsignedRequired)
	p := path("/plugin-updates/%d/apply", e.alpha.ID)
	before := e.all()

	er := requireError(t, e.do(req{method: "POST", path: p}), http.StatusConflict, "verification_required")
	assert.Contains(t, er.Error.Message, `"unverified_reason"`, "the message says how to override")
	assert.Contains(t, er.Error.Message, "unsigned")
	assert.Equal(t, "pending", er.Update["status"])
	assert.Equal(t, true, er.Update["verification"].(map[string]any)["blocks"])
	requireError(t, e.do(req{method: "POST", path: p, body: `{"confirm_tag_moved": true}`}), http.StatusConflict, "verification_required")

	for name, body := range map[string]string{
		"empty":        `{"unverified_reason": ""}`,
		"blank":        `{"unverified_reason": "  \n\t "}`,
		"escape":       `{"unverified_reason": "ok\u001b[31m"}`,
		"nul":          `{"unverified_reason": "ok\u0000"}`,
		"too long":     `{"unverified_reason": "` + strings.Repeat("x", drift.MaxReasonLen+1) + `"}`,
		"not a string": `{"unverified_reason": true}`,
		"misspelled":   `{"unverified_reasons": "x"}`,
	} {
		er := requireError(t, e.do(req{method: "POST", path: p, body: body}), http.StatusBadRequest, "bad_request")
		if name != "not a string" && name != "misspelled" {
			assert.Contains(t, er.Error.Message, "unverified_reason", name)
		}
	}
	assert.Zero(t, e.installer.count(), "nothing was installed")
	assert.Equal(t, before, e.all(), "nothing changed")

	const reason = "reviewed 0123abc by hand: the release key <rotated> & was not yet in the policy"
	w := e.do(req{method: "POST", path: p, body: fmt.Sprintf(`{"unverified_reason": %q}`, "  "+reason+" ")})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	got := decode[updateBody](t, w).Update
	assert.Equal(t, "applied", got["status"])
	assert.Equal(t, reason, got["override"], "the reason is recorded, without surrounding blanks")
	assert.Equal(t, "alice", got["decided_by"])
	assert.Equal(t, 1, e.installer.count())
	stored := e.get(e.alpha.ID)
	assert.Equal(t, reason, stored.Override)
	assert.Equal(t, tracking.StatusApplied, stored.Status)

	// Applying it again is idempotent, with or without a reason.
	w = e.do(req{method: "POST", path: p})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, reason, decode[updateBody](t, w).Update["override"])
	assert.Equal(t, 1, e.installer.count())
}

// TestApplyBlockedAlarmNeedsBoth: an integrity alarm that its policy
// also blocks is applied only with both the confirmation and a reason.
func TestApplyBlockedAlarmNeedsBoth(t *testing.T) {
	e := newEnv(t)
	e.verify(e.gamma, tracking.Verification{State: tracking.VerificationBadSignature, By: "plugindrift", Detail: "tag v2.0.0: signature does not match", Required: true})
	p := path("/plugin-updates/%d/apply", e.gamma.ID)
	requireError(t, e.do(req{method: "POST", path: p}), http.StatusConflict, "confirmation_required")
	requireError(t, e.do(req{method: "POST", path: p, body: `{"unverified_reason": "checked"}`}), http.StatusConflict, "confirmation_required")
	er := requireError(t, e.do(req{method: "POST", path: p, body: `{"confirm_tag_moved": true}`}), http.StatusConflict, "verification_required")
	assert.Contains(t, er.Error.Message, "signature does not match")
	assert.Zero(t, e.installer.count())
	assert.Equal(t, tracking.StatusPending, e.get(e.gamma.ID).Status)

	w := e.do(req{method: "POST", path: p, body: `{"confirm_tag_moved": true, "unverified_reason": "compared both commits with upstream"}`})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, "compared both commits with upstream", e.get(e.gamma.ID).Override)
}

// TestBulkApplyVerification: a bulk apply decides each entry on its own:
// the blocked one fails with verification_required while the others are
// applied; with a reason it is applied and only it records an override.
func TestBulkApplyVerification(t *testing.T) {
	e := newEnv(t)
	e.verify(e.alpha, unsignedRequired)
	w := e.do(req{method: "POST", path: path("/bulk/apply"), body: fmt.Sprintf(`{"ids": [%d, %d]}`, e.alpha.ID, e.beta.ID)})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	body := decode[bulkResponse](t, w)
	require.Len(t, body.Results, 2)
	assert.False(t, body.Results[0].OK)
	require.NotNil(t, body.Results[0].Error)
	assert.Equal(t, "verification_required", body.Results[0].Error.Code)
	assert.Contains(t, body.Results[0].Error.Message, "unverified_reason")
	assert.Equal(t, "pending", body.Results[0].Update["status"])
	assert.True(t, body.Results[1].OK)
	assert.Equal(t, 1, body.Succeeded)
	assert.Equal(t, 1, body.Failed)
	assert.Equal(t, tracking.StatusPending, e.get(e.alpha.ID).Status)
	assert.Equal(t, tracking.StatusApplied, e.get(e.beta.ID).Status)

	bulk := func(body string) bulkResponse {
		t.Helper()
		w := e.do(req{method: "POST", path: path("/bulk/apply"), body: body})
		require.Equal(t, http.StatusOK, w.Code, w.Body.String())
		return decode[bulkResponse](t, w)
	}
	blank := bulk(fmt.Sprintf(`{"ids": [%d], "unverified_reason": " "}`, e.alpha.ID))
	require.Len(t, blank.Results, 1)
	require.NotNil(t, blank.Results[0].Error)
	assert.Equal(t, "bad_request", blank.Results[0].Error.Code, "a blank reason is refused")
	assert.Equal(t, tracking.StatusPending, e.get(e.alpha.ID).Status)

	// beta is not blocked (and already applied): the reason is no override of it.
	done := bulk(fmt.Sprintf(`{"ids": [%d, %d], "unverified_reason": "signed by the old key; checked"}`, e.beta.ID, e.alpha.ID))
	assert.Equal(t, 2, done.Succeeded, "%+v", done.Results)
	assert.Equal(t, "signed by the old key; checked", e.get(e.alpha.ID).Override)
	assert.Equal(t, "", e.get(e.beta.ID).Override, "only a blocked entry records an override")
	assert.Equal(t, 2, e.installer.count(), "alpha and beta, once each")
}

// TestPageVerificationBadges: every entry shows its signature check: the
// state in words, the signer or detail, "required"; dangerous for a bad
// signature and for what blocks. A blocked entry's Apply is "Apply
// unverified" with a required reason, and "Apply all" leaves it out.
func TestPageVerificationBadges(t *testing.T) {
	e := newEnv(t)
	tr := mustTracker(t, e.store, e.clock.Now)
	_, err := tr.RecordInstall(t.Context(), tracking.InstallRecord{WorkspaceID: "ws-z", PluginName: "alpha", Source: srcAlpha, Ref: "tag:latest", SHA: shaHex(1), Version: "v1.0.0"})
	require.NoError(t, err)
	_, err = e.sweeper.RunOnce(t.Context())
	require.NoError(t, err)
	e.verify(e.alpha, unsignedRequired) // both workspaces' entries to v1.1.0
	e.verify(e.beta, tracking.Verification{State: tracking.VerificationVerified, Signer: "release@acme.example", By: "github", Detail: "commit: valid signature", Required: true})
	e.verify(e.gamma, tracking.Verification{State: tracking.VerificationBadSignature, By: "plugindrift", Detail: "tag v2.0.0: signature does not match"})

	html := e.page("")
	alpha := rowOf(t, html, e.alpha.ID)
	assert.Contains(t, alpha, `data-state="unsigned"`)
	assert.Contains(t, alpha, `badge-danger">⚠ unsigned</span>`, "blocking is dangerous")
	assert.Contains(t, alpha, `badge-required`)
	assert.Contains(t, alpha, "commit is not signed", "the detail as text")
	assert.Contains(t, alpha, `class="apply apply-unverified"`)
	assert.Contains(t, alpha, `name="unverified_reason" required`)
	assert.Contains(t, alpha, ">Apply unverified</button>")
	assert.NotContains(t, alpha, ">Apply</button>", "no plain Apply for a blocked entry")
	group := groupOf(t, html, "alpha v1.0.0 → v1.1.0")
	assert.NotContains(t, group, "apply-all", "Apply all would only fail: each needs its own reason")
	assert.Contains(t, group, "dismiss-all")

	beta := rowOf(t, html, e.beta.ID)
	assert.Contains(t, beta, `badge-verified">✓ verified</span>`)
	assert.Contains(t, beta, "signed by")
	assert.Contains(t, beta, "release@acme.example")
	assert.Contains(t, beta, "as github reports it")
	assert.Contains(t, beta, `badge-required`)
	assert.NotContains(t, beta, "badge-danger")
	assert.Contains(t, beta, ">Apply</button>")

	gamma := rowOf(t, section(html, "alarms"), e.gamma.ID)
	assert.Contains(t, gamma, `badge-danger">⚠ bad signature</span>`, "a bad signature is dangerous even when not required")
	assert.NotContains(t, gamma, "badge-required")
	assert.Contains(t, gamma, ">Apply</button>", "not required: not blocked")

	// An entry nothing checked says so.
	e2 := newEnv(t)
	assert.Contains(t, rowOf(t, e2.page(""), e2.alpha.ID), `<span class="badge badge-sig">not checked</span>`)
}

// TestPageApplyUnverified: the page's forms go through the same rules:
// without the reason field a blocked entry is refused and the flash says
// how to override; a blank reason is refused; a reason applies it, and
// the history shows the override.
func TestPageApplyUnverified(t *testing.T) {
	e := newEnv(t)
	e.verify(e.alpha, unsignedRequired)
	p := path("/ui/plugin-updates/%d/apply", e.alpha.ID)
	got, loc := e.follow(e.postForm(p, url.Values{}))
	assert.Contains(t, loc, "result=verification_required")
	assert.Contains(t, got.Body.String(), "its commit is unsigned, and its trust policy requires a verified signature")
	assert.Contains(t, got.Body.String(), "“Apply unverified”")
	got, loc = e.follow(e.postForm(p, url.Values{"unverified_reason": {"   "}}))
	assert.Contains(t, loc, "result=bad_request")
	assert.Contains(t, got.Body.String(), fmt.Sprintf("Update #%d was not applied: the reason (unverified_reason) must say why", e.alpha.ID))
	assert.Zero(t, e.installer.count())
	assert.Equal(t, tracking.StatusPending, e.get(e.alpha.ID).Status)

	got, loc = e.follow(e.postForm(p, url.Values{"unverified_reason": {"key rotation, checked with the vendor"}, "workspace": {"ws-a"}}))
	assert.Contains(t, loc, "result=ok")
	assert.Contains(t, got.Body.String(), "Applied alpha v1.1.0 to workspace ws-a although its signature is not verified")
	assert.Equal(t, 1, e.installer.count())
	u := e.get(e.alpha.ID)
	assert.Equal(t, "key rotation, checked with the vendor", u.Override)
	assert.Equal(t, "alice", u.DecidedBy)
	hist := rowOf(t, section(got.Body.String(), "history"), e.alpha.ID)
	assert.Contains(t, hist, "Applied unverified: <span class=\"reason-text\">key rotation, checked with the vendor</span>")
	assert.Contains(t, hist, `data-state="unsigned"`, "the history keeps the badge")

	// A crafted outcome says nothing the entry does not bear out.
	assert.NotContains(t, e.page(fmt.Sprintf("?op=apply&result=verification_required&id=%d", e.beta.ID)), "flash")
}
