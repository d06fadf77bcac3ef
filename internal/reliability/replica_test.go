package reliability_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const adminToken = "reliability-admin-token"

// buildReplica builds the replica command into a temporary directory of t.
func buildReplica(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	require.NoError(t, err, "building the replica needs the go command on PATH")
	bin := filepath.Join(t.TempDir(), "replica")
	cmd := exec.Command(goTool, "build", "-o", bin, "./replica")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build ./replica:\n%s", out)
	return bin
}

// fleet starts replica processes that share one Postgres database and one
// install log, and remembers which of them it killed and when.
type fleet struct {
	t          *testing.T
	bin, dsn   string
	installLog string

	mu     sync.Mutex
	killed map[int]time.Time // pid → when it was seen dead after SIGKILL
}

func newFleet(t *testing.T, bin, dsn string) *fleet {
	return &fleet{t: t, bin: bin, dsn: dsn, installLog: filepath.Join(t.TempDir(), "installs.log"), killed: map[int]time.Time{}}
}

// killedAt returns a copy of the kill times.
func (f *fleet) killedAt() map[int]time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[int]time.Time, len(f.killed))
	for k, v := range f.killed {
		out[k] = v
	}
	return out
}

// replicaOpts are a replica's flags; zero values take the replica's
// defaults.
type replicaOpts struct {
	applyTimeout, leaseTTL, resolveTimeout, installDelay time.Duration
	holder                                               string
	block                                                string
	blockAt                                              int
	// Push webhooks: a secret turns the receiver and check worker on.
	pushSecret             string
	pushPoll, pushClaimTTL time.Duration
}

func (o replicaOpts) args() []string {
	var a []string
	dur := func(name string, d time.Duration) {
		if d > 0 {
			a = append(a, "-"+name, d.String())
		}
	}
	dur("apply-timeout", o.applyTimeout)
	dur("lease-ttl", o.leaseTTL)
	dur("resolve-timeout", o.resolveTimeout)
	dur("install-delay", o.installDelay)
	if o.holder != "" {
		a = append(a, "-holder", o.holder)
	}
	if o.block != "" {
		a = append(a, "-block", o.block)
	}
	if o.blockAt > 0 {
		a = append(a, "-block-at", strconv.Itoa(o.blockAt))
	}
	if o.pushSecret != "" {
		a = append(a, "-push-secret", o.pushSecret)
	}
	dur("push-poll", o.pushPoll)
	dur("push-claim-ttl", o.pushClaimTTL)
	return a
}

// replica is one running replica process.
type replica struct {
	f      *fleet
	name   string
	cmd    *exec.Cmd
	pid    int
	base   string      // the admin API root, http://127.0.0.1:port/admin
	lines  chan string // stdout after the listening line: the markers
	exited chan struct{}
	logs   string // the file holding its stderr
}

// start starts a replica and waits until its admin API listens. It is
// killed when the test ends, if it is still running.
func (f *fleet) start(name string, o replicaOpts) *replica {
	t := f.t
	t.Helper()
	args := append([]string{"-db", f.dsn, "-install-log", f.installLog}, o.args()...)
	cmd := exec.Command(f.bin, args...)
	cmd.Env = append(os.Environ(), "PLUGINDRIFT_ADMIN_TOKEN="+adminToken)
	// A safety net should the test binary die without its cleanups.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	logs := filepath.Join(t.TempDir(), name+".stderr")
	stderr, err := os.Create(logs)
	require.NoError(t, err)
	defer stderr.Close()
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	r := &replica{f: f, name: name, cmd: cmd, pid: cmd.Process.Pid, lines: make(chan string, 1000), exited: make(chan struct{}), logs: logs}
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		first := true
		for sc.Scan() {
			if first {
				listening <- sc.Text()
				first = false
				continue
			}
			select {
			case r.lines <- sc.Text():
			default: // nobody is reading the markers: drop them
			}
		}
		close(r.lines)
		_ = cmd.Wait()
		close(r.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-r.exited:
		default:
			_ = cmd.Process.Kill()
			<-r.exited
		}
		if t.Failed() {
			t.Logf("replica %s (pid %d) stderr, last lines:\n%s", name, r.pid, tail(logs, 25))
		}
	})
	select {
	case line := <-listening:
		addr, ok := strings.CutPrefix(line, "listening ")
		require.True(t, ok, "replica %s printed %q before listening", name, line)
		r.base = "http://" + addr + "/admin"
	case <-r.exited:
		t.Fatalf("replica %s exited before listening:\n%s", name, tail(logs, 40))
	case <-time.After(60 * time.Second):
		t.Fatalf("replica %s did not listen within 60s:\n%s", name, tail(logs, 40))
	}
	return r
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// kill SIGKILLs the replica and returns once it is dead.
func (r *replica) kill() {
	r.f.t.Helper()
	require.NoError(r.f.t, r.cmd.Process.Signal(syscall.SIGKILL))
	<-r.exited
	r.f.mu.Lock()
	r.f.killed[r.pid] = time.Now()
	r.f.mu.Unlock()
}

// signal sends sig (SIGSTOP, SIGCONT) to the replica.
func (r *replica) signal(sig syscall.Signal) {
	r.f.t.Helper()
	require.NoError(r.f.t, r.cmd.Process.Signal(sig), "signal %s to replica %s", sig, r.name)
}

// awaitMarker waits for the replica to print "blocked <step> …".
func (r *replica) awaitMarker(step string, within time.Duration) string {
	r.f.t.Helper()
	deadline := time.After(within)
	for {
		select {
		case line, ok := <-r.lines:
			if !ok {
				r.f.t.Fatalf("replica %s exited before blocking at %s:\n%s", r.name, step, tail(r.logs, 40))
			}
			if strings.HasPrefix(line, "blocked "+step+" ") {
				return line
			}
		case <-deadline:
			r.f.t.Fatalf("replica %s did not block at %s within %s:\n%s", r.name, step, within, tail(r.logs, 40))
		}
	}
}

// The API shapes the tests read.
type apiUpdate struct {
	ID          int64  `json:"id"`
	WorkspaceID string `json:"workspace_id"`
	PluginName  string `json:"plugin_name"`
	FromSHA     string `json:"from_sha"`
	ToSHA       string `json:"to_sha"`
	Status      string `json:"status"`
}

// apiReport is a sweep report as the admin API sends it.
type apiReport struct {
	Skipped    bool          `json:"skipped"`
	Upstreams  int           `json:"upstreams"`
	Resolved   int           `json:"resolved"`
	Unchanged  int           `json:"unchanged"`
	Failed     int           `json:"failed"`
	Deferred   int           `json:"deferred"`
	Installs   int           `json:"installs"`
	Queued     int           `json:"queued"`
	Superseded int           `json:"superseded"`
	Duration   time.Duration `json:"duration_ns"`
	Errors     []struct {
		Source string `json:"source"`
		Ref    string `json:"ref"`
		Error  string `json:"error"`
	} `json:"errors"`
}

type apiBody struct {
	Update     *apiUpdate  `json:"update"`
	Updates    []apiUpdate `json:"updates"`
	NextCursor string      `json:"next_cursor"`
	Report     apiReport   `json:"report"`
	Error      *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// apiClient has no overall timeout of its own: every call carries a ctx.
var apiClient = &http.Client{}

// call sends one admin API request and decodes the answer. It never fails
// the test itself, so that goroutines may use it.
func (r *replica) call(ctx context.Context, method, path, body string) (int, apiBody, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, rd)
	if err != nil {
		return 0, apiBody{}, err
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := apiClient.Do(req)
	if err != nil {
		return 0, apiBody{}, fmt.Errorf("replica %s: %s %s: %w", r.name, method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, apiBody{}, fmt.Errorf("replica %s: %s %s: read: %w", r.name, method, path, err)
	}
	var b apiBody
	if err := json.Unmarshal(data, &b); err != nil {
		return resp.StatusCode, b, fmt.Errorf("replica %s: %s %s: %d %q: %w", r.name, method, path, resp.StatusCode, bytes.TrimSpace(data), err)
	}
	return resp.StatusCode, b, nil
}

func (r *replica) apply(ctx context.Context, id int64) (int, apiBody, error) {
	return r.call(ctx, http.MethodPost, fmt.Sprintf("/plugin-updates/%d/apply", id), "")
}

func (r *replica) dismiss(ctx context.Context, id int64) (int, apiBody, error) {
	return r.call(ctx, http.MethodPost, fmt.Sprintf("/plugin-updates/%d/dismiss", id), `{"reason":"not now"}`)
}

// sweep runs a sweep on the replica. A non-200 answer is an error.
func (r *replica) sweep(ctx context.Context) (apiReport, error) {
	status, b, err := r.call(ctx, http.MethodPost, "/sweeps", "")
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("replica %s: sweep answered %d %+v", r.name, status, b.Error)
	}
	return b.Report, err
}

// pending lists every pending entry, page by page.
func (r *replica) pending(ctx context.Context) ([]apiUpdate, error) {
	var all []apiUpdate
	cursor := ""
	for {
		q := url.Values{"status": {"pending"}, "limit": {"200"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		status, b, err := r.call(ctx, http.MethodGet, "/plugin-updates?"+q.Encode(), "")
		if err != nil {
			return nil, err
		}
		if status != http.StatusOK {
			return nil, fmt.Errorf("replica %s: list pending answered %d %+v", r.name, status, b.Error)
		}
		all = append(all, b.Updates...)
		if b.NextCursor == "" {
			return all, nil
		}
		cursor = b.NextCursor
	}
}
