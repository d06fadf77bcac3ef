package main

import (
	"bytes"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/internal/pgtest"
)

// TestMain lets the test binary stand in for the quickstart binary, so a
// test can run main() in a child process and check its exit code without
// building it again.
func TestMain(m *testing.M) {
	if os.Getenv("PLUGINDRIFT_QUICKSTART_AS_MAIN") == "1" {
		os.Args = append([]string{os.Args[0]}, strings.Fields(os.Getenv("PLUGINDRIFT_QUICKSTART_ARGS"))...)
		main()
		os.Exit(0)
	}
	pgtest.Main(m)
}

func TestQuickstartTellsTheStory(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("the quickstart needs git on PATH")
	}
	start := time.Now()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PLUGINDRIFT_QUICKSTART_AS_MAIN=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	require.NoError(t, err, "exit status; stderr:\n%s\nstdout:\n%s", stderr.String(), stdout.String())
	t.Logf("quickstart ran in %s", time.Since(start))
	out := stdout.String()

	first, second, ok := strings.Cut(out, "== 6. A second sweep")
	require.True(t, ok, "the story has a second sweep:\n%s", out)
	_, queue1, ok := strings.Cut(first, "== 4. A sweep")
	require.True(t, ok)

	// The first sweep queues the new version, the new commit and the alarm.
	assert.Contains(t, queue1, "report: upstreams=3 resolved=3")
	assert.Contains(t, queue1, "queued=3")
	assert.Regexp(t, regexp.MustCompile(`acme\s+tag:latest\s+\w{12} \(v1\.0\.0\) → \w{12} \(v1\.1\.0\)\s+new-version`), queue1)
	assert.Regexp(t, regexp.MustCompile(`globex\s+branch:main\s+\w{12} \(v1\.0\.0\) → \w{12}\s+new-commit`), queue1)
	assert.Regexp(t, regexp.MustCompile(`initech\s+tag:v1\.0\.0\s+.*⚠ tag-moved`), queue1)
	// The pinned install never appears in a queue.
	assert.NotContains(t, strings.Split(out, "pending queue")[1], "umbrella")
	assert.NotContains(t, second[:strings.Index(second, "WORKSPACE  PLUGIN")], "umbrella")

	// The apply fetched the exact commit; the dismissal stuck.
	assert.Contains(t, out, `acme's plugin.json now: {"name":"hello","version":"1.1.0"}`)
	assert.Contains(t, out, "restarter: restarting workspace acme")
	assert.Contains(t, out, `dismissed: "waiting for the next release"`)

	// The second sweep re-queues nothing: only the alarm is still pending.
	assert.Contains(t, second, "queued=0")
	assert.Contains(t, second, "pending queue (1):")
	assert.Regexp(t, regexp.MustCompile(`acme\s+hello\s+tag:latest\s+\w{12} v1\.1\.0`), second)
	assert.Regexp(t, regexp.MustCompile(`umbrella\s+hello\s+sha:\w{12}\s+\w{12} v1\.0\.0`), second)

	// Act 7: the force-push raises the alarm, the bad release is rolled
	// back and held, and the next good release is offered again.
	_, act7, ok := strings.Cut(out, "== 7. A force-push")
	require.True(t, ok, "the story has act 7:\n%s", out)
	assert.Regexp(t, regexp.MustCompile(`globex\s+branch:main\s+\w{12} \(v1\.0\.0\) → \w{12}\s+⚠ history-rewritten`), act7)
	assert.Regexp(t, regexp.MustCompile(`rollback \d+ applied: acme runs v1\.1\.0 again; hold \d+ keeps \w{12} \(v1\.2\.0\)`), act7)
	_, afterRollback, ok := strings.Cut(act7, "rollback ")
	require.True(t, ok)
	held, next, ok := strings.Cut(afterRollback, "(the fix)")
	require.True(t, ok)
	assert.Contains(t, held, "queued=0")
	assert.NotRegexp(t, regexp.MustCompile(`\d+\s+acme\s+tag:latest`), held, "the rolled-back release is not offered again")
	assert.Regexp(t, regexp.MustCompile(`acme\s+tag:latest\s+\w{12} \(v1\.1\.0\) → \w{12} \(v1\.2\.1\)\s+new-version`), next)

	// The events of the story, in the order they happened.
	_, events, ok := strings.Cut(out, "== 8. The events the story wrote")
	require.True(t, ok, "the story prints its events:\n%s", out)
	for _, ws := range []string{"acme", "globex", "initech"} {
		assert.Regexp(t, regexp.MustCompile(`update\.queued\s+`+ws), events)
	}
	assert.Regexp(t, regexp.MustCompile(`(?s)update\.queued\s+initech\s+(\d+)\s+\d+\s+alarm\.tag_moved\s+initech`), events, "the alarm beside its entry")
	firstSweep, later, ok := strings.Cut(events, "update.applied")
	require.True(t, ok, "an apply event:\n%s", events)
	assert.Regexp(t, `update\.queued\s+globex`, firstSweep, "the operator's decisions come after the sweep's events")
	assert.Regexp(t, `^\s+acme\s+\d+\s+\d+\s+update\.dismissed\s+globex`, later)
	// Act 7: the force-push's alarm beside its entry, and the rollback
	// written before its own apply.
	assert.Regexp(t, regexp.MustCompile(`update\.queued\s+globex\s+(\d+)\s+\d+\s+alarm\.history_rewritten\s+globex`), events)
	assert.Regexp(t, regexp.MustCompile(`update\.rolled_back\s+acme\s+(\d+)\s+\d+\s+update\.applied\s+acme`), events)
	assert.Contains(t, events, "delivered 13 events, each once, in order")
}

func TestQuickstartOnPostgres(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("the quickstart needs git on PATH")
	}
	dsn, err := url.Parse(pgtest.NewDatabase(t))
	require.NoError(t, err)
	password, ok := dsn.User.Password()
	if !ok {
		// The throwaway cluster trusts local connections: any password works.
		password = "Qk7ZpW3xTb9R"
		dsn.User = url.UserPassword(dsn.User.Username(), password)
	}
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), options{db: dsn.String()}, &out), out.String())
	assert.Contains(t, out.String(), "store  postgres://***@")
	assert.NotContains(t, out.String(), password)
	assert.Contains(t, out.String(), "queued=3")
	assert.Contains(t, out.String(), "pending queue (1):")
}
