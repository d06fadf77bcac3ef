package adminhttp_test

import (
	"fmt"
	"html"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// TestMoreAlarmsLink: past a page of integrity alarms the page shows the
// newest page of them, says there are more, and links to the API listing
// that has them all.
func TestMoreAlarmsLink(t *testing.T) {
	e := newEnv(t)
	const n = 51 // one more than a page
	tr := mustTracker(t, e.store, e.clock.Now)
	const src = "git+https://git.example.com/acme/moved.git"
	for i := range n {
		_, err := tr.RecordInstall(t.Context(), tracking.InstallRecord{
			WorkspaceID: fmt.Sprintf("ws-m%02d", i), PluginName: "moved", Source: src, Ref: "tag:v9.0.0", SHA: shaHex(40),
		})
		require.NoError(t, err)
	}
	src0, err := tracking.ParseSource(src)
	require.NoError(t, err)
	ref, err := tracking.ParseRef("tag:v9.0.0")
	require.NoError(t, err)
	_, err = e.store.Reconcile(t.Context(), storage.ReconcileParams{Key: tracking.UpstreamKey{Source: src0, Ref: ref}, SHA: shaHex(41), Now: e.clock.Now()})
	require.NoError(t, err)

	page := e.page("")
	alarms := page[strings.Index(page, `id="alarms"`):]
	alarms = alarms[:strings.Index(alarms, "</table>")]
	// The env's own gamma is a tag-moved alarm too: n+1 alarms in all.
	assert.Equal(t, 50, strings.Count(alarms, `class="alarm"`), "one page of alarms")
	assert.Contains(t, page, "More alarms than shown")
	i := strings.Index(page, `More alarms than shown: the API lists them all (<a href="`)
	require.GreaterOrEqual(t, i, 0)
	rest := page[i+len(`More alarms than shown: the API lists them all (<a href="`):]
	link := html.UnescapeString(rest[:strings.Index(rest, `"`)])
	require.True(t, strings.HasPrefix(link, "/admin/plugin-updates?"), link)

	w := e.do(req{method: "GET", path: link + "&limit=100"})
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	listed := decode[struct {
		Updates []struct {
			Kind string `json:"kind"`
		} `json:"updates"`
	}](t, w).Updates
	assert.Len(t, listed, n+1, "the link lists every alarm")
	for _, u := range listed {
		assert.True(t, tracking.UpdateKind(u.Kind).Alarm(), u.Kind)
	}

	// A page's worth or fewer: no link.
	e2 := newEnv(t)
	assert.NotContains(t, e2.page(""), "More alarms than shown")
}
