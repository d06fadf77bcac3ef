// Command replica is the host process of the reliability tests: a host
// application like examples/hostapp, on Postgres, with a Sweeper, an
// Updater and the admin handler on a loopback port. Its Installer
// materialises nothing; it appends one line per step to a log file shared
// by every replica of a test, which the tests read back to account for
// every install that ran.
//
// Fault hooks let a test stop the process at an exact step and SIGKILL it
// there: with -block STEP the process prints "blocked STEP …" on stdout
// and then blocks forever at the -block-at'th call of that step (and at
// every later one). Steps:
//
//	after-claim     the Installer was called, before it does anything
//	during-install  the Installer logged its start, before it ends
//	after-install   the Installer returned, before CompleteApply
//	after-commit    the Restarter was called (the apply is recorded)
//	mid-reconcile   a sweep calls Reconcile (others may be in flight)
//	reconcile-in-tx a Reconcile sends its first statement inside its
//	                transaction (seen by a pgx tracer on the store's
//	                connections)
//	before-check-claim the push check worker is about to claim requests
//	after-check-claim  the push check worker claimed a request, before
//	                   checking it
//
// With -push-secret the replica also receives push webhooks (generic
// form, signed with that secret) at /hooks/plugindrift and runs a
// drift.CheckWorker.
//
// On start it prints "listening HOST:PORT" on stdout. The admin API is at
// /admin/ and takes "Authorization: Bearer $PLUGINDRIFT_ADMIN_TOKEN".
//
// The install log has one line per event, written with a single write(2)
// on a file opened with O_APPEND, so lines of concurrent processes never
// interleave:
//
//	start|end|abort PID UPDATE-ID WORKSPACE PLUGIN SHA UNIX-NANOS
package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/plugindrift/plugindrift/adminhttp"
	"github.com/plugindrift/plugindrift/adminhttp/push"
	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/resolver/gitcli"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/storage/bunstore"
	"github.com/plugindrift/plugindrift/tracking"
)

// Steps a replica can block at.
const (
	stepAfterClaim    = "after-claim"
	stepDuringInstall = "during-install"
	stepAfterInstall  = "after-install"
	stepAfterCommit   = "after-commit"
	stepMidReconcile  = "mid-reconcile"
	stepReconcileInTx = "reconcile-in-tx"
	// Push checks.
	stepBeforeCheckClaim = "before-check-claim"
	stepAfterCheckClaim  = "after-check-claim"
)

var steps = []string{stepAfterClaim, stepDuringInstall, stepAfterInstall, stepAfterCommit, stepMidReconcile, stepReconcileInTx, stepBeforeCheckClaim, stepAfterCheckClaim}

type config struct {
	db             string
	addr           string
	installLog     string
	holder         string
	schedule       string
	applyTimeout   time.Duration
	leaseTTL       time.Duration
	resolveTimeout time.Duration
	installDelay   time.Duration
	block          string
	blockAt        int
	token          string
	// Push webhooks.
	pushSecret   string
	pushPoll     time.Duration
	pushClaimTTL time.Duration
}

func parseConfig(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("replica", flag.ContinueOnError)
	fs.StringVar(&c.db, "db", "", "Postgres DSN (required)")
	fs.StringVar(&c.addr, "addr", "127.0.0.1:0", "listen address of the admin API (loopback)")
	fs.StringVar(&c.installLog, "install-log", "", "file the Installer appends its lines to (required)")
	fs.StringVar(&c.holder, "holder", "", "sweeper lease holder name (default: host, pid and a random suffix)")
	fs.StringVar(&c.schedule, "schedule", "@every 1h", "sweep schedule; tests trigger sweeps through the admin API")
	fs.DurationVar(&c.applyTimeout, "apply-timeout", 10*time.Second, "Updater ApplyTimeout: how long an apply claim lasts")
	fs.DurationVar(&c.leaseTTL, "lease-ttl", 10*time.Second, "Sweeper LeaseTTL")
	fs.DurationVar(&c.resolveTimeout, "resolve-timeout", 10*time.Second, "Sweeper ResolveTimeout")
	fs.DurationVar(&c.installDelay, "install-delay", 0, "how long one install takes (it stops early when its context ends)")
	fs.StringVar(&c.block, "block", "", "step to block at forever: "+strings.Join(steps, ", "))
	fs.IntVar(&c.blockAt, "block-at", 1, "block at this call of the step (1: the first) and every later one")
	fs.StringVar(&c.pushSecret, "push-secret", "", "receive generic push webhooks signed with this secret and run a check worker")
	fs.DurationVar(&c.pushPoll, "push-poll", time.Second, "check worker PollInterval")
	fs.DurationVar(&c.pushClaimTTL, "push-claim-ttl", 5*time.Second, "check worker ClaimTTL")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	c.token = os.Getenv("PLUGINDRIFT_ADMIN_TOKEN")
	switch {
	case c.db == "" || c.installLog == "":
		return c, errors.New("-db and -install-log are required")
	case c.block != "" && !slices.Contains(steps, c.block):
		return c, fmt.Errorf("-block %q: want one of %s", c.block, strings.Join(steps, ", "))
	case c.blockAt < 1:
		return c, errors.New("-block-at must be at least 1")
	case len(c.token) < 8:
		return c, errors.New("set PLUGINDRIFT_ADMIN_TOKEN to a secret of at least 8 characters")
	}
	return c, nil
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg, err := parseConfig(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "replica:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log); err != nil {
		log.Error("replica stopped", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config, log *slog.Logger) error {
	h := &hooks{step: cfg.block, at: cfg.blockAt, calls: map[string]int{}}
	// The store runs on a bun.DB of our own, as bunstore.Open would build
	// it, with a tracer that sees every statement.
	pcfg, err := pgx.ParseConfig(cfg.db)
	if err != nil {
		return fmt.Errorf("-db: %v", err)
	}
	pcfg.Tracer = &txTracer{hooks: h}
	db := bun.NewDB(stdlib.OpenDB(*pcfg), pgdialect.New())
	defer db.Close()
	inner, err := bunstore.New(db, nil)
	if err != nil {
		return err
	}
	defer inner.Close()
	if err := inner.Migrate(ctx); err != nil {
		return err
	}
	logFile, err := os.OpenFile(cfg.installLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()

	store := &hookedStore{Store: inner, hooks: h}
	git, err := gitcli.New(&gitcli.Config{Timeout: cfg.resolveTimeout})
	if err != nil {
		return err
	}
	res, err := resolver.NewRegistry(map[tracking.SourceScheme]resolver.Resolver{tracking.SchemeGit: git})
	if err != nil {
		return err
	}
	installer := &logInstaller{file: logFile, delay: cfg.installDelay, hooks: h}
	restarter := drift.RestarterFunc(func(ctx context.Context, workspaceID string) error {
		h.reached(stepAfterCommit, "workspace="+workspaceID)
		return nil
	})
	updater, err := drift.NewUpdater(store, installer, restarter, &drift.UpdaterConfig{ApplyTimeout: cfg.applyTimeout, Logger: log})
	if err != nil {
		return err
	}
	sweeper, err := drift.NewSweeper(store, res, &drift.SweeperConfig{
		Schedule: cfg.schedule, LeaseTTL: cfg.leaseTTL, ResolveTimeout: cfg.resolveTimeout,
		Holder: cfg.holder, Logger: log,
	})
	if err != nil {
		return err
	}
	admin, err := adminhttp.NewHandler(adminhttp.Config{
		Updater: updater, Sweeper: sweeper, Store: store, Logger: log,
		Authorize: bearer(cfg.token),
		// The tests read each sweep's report from its answer.
		SweepWait: 5 * time.Minute,
	})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/admin/", admin)
	var worker *drift.CheckWorker
	if cfg.pushSecret != "" {
		if worker, err = drift.NewCheckWorker(sweeper, &drift.CheckWorkerConfig{PollInterval: cfg.pushPoll, ClaimTTL: cfg.pushClaimTTL, Logger: log}); err != nil {
			return err
		}
		receiver, err := push.NewHandler(push.Config{Store: store, Secrets: push.Secrets{Generic: cfg.pushSecret}, Wake: worker.Wake, Logger: log})
		if err != nil {
			return err
		}
		mux.Handle("POST /hooks/plugindrift", receiver)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	if err := sweeper.Start(ctx); err != nil {
		ln.Close()
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	// Before the worker starts: its first round may reach a -block step,
	// whose marker the tests read only after this line.
	fmt.Printf("listening %s\n", ln.Addr())
	if worker != nil {
		if err := worker.Start(ctx); err != nil {
			ln.Close()
			return err
		}
		defer worker.Stop()
	}

	select {
	case err := <-errc:
		sweeper.Stop()
		return err
	case <-ctx.Done():
	}
	sweeper.Stop()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

func bearer(token string) func(*http.Request, adminhttp.Operation) (string, error) {
	return func(r *http.Request, _ adminhttp.Operation) (string, error) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			return "", adminhttp.ErrUnauthenticated
		}
		if subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			return "", adminhttp.ErrForbidden
		}
		return fmt.Sprintf("replica-%d", os.Getpid()), nil
	}
}

// hooks blocks the calling goroutine forever at the configured step.
type hooks struct {
	step string
	at   int

	mu    sync.Mutex
	calls map[string]int
}

// reached is called at every step; at the configured one, from the
// at'th call on, it prints the marker and never returns.
func (h *hooks) reached(step, detail string) {
	if step != h.step {
		return
	}
	h.mu.Lock()
	h.calls[step]++
	n := h.calls[step]
	h.mu.Unlock()
	if n < h.at {
		return
	}
	fmt.Printf("blocked %s %s\n", step, detail)
	select {}
}

// hookedStore is the Store with the hooks that fall between store calls.
type hookedStore struct {
	storage.Store
	hooks *hooks
}

func (s *hookedStore) CompleteApply(ctx context.Context, p storage.CompleteApplyParams) (tracking.Update, error) {
	s.hooks.reached(stepAfterInstall, fmt.Sprintf("update=%d", p.ID))
	return s.Store.CompleteApply(ctx, p)
}

func (s *hookedStore) ClaimCheckRequests(ctx context.Context, p storage.ClaimCheckRequestsParams) ([]storage.CheckRequest, error) {
	s.hooks.reached(stepBeforeCheckClaim, "holder="+p.Holder)
	reqs, err := s.Store.ClaimCheckRequests(ctx, p)
	if len(reqs) > 0 {
		s.hooks.reached(stepAfterCheckClaim, "upstream="+reqs[0].Key.String())
	}
	return reqs, err
}

func (s *hookedStore) Reconcile(ctx context.Context, p storage.ReconcileParams) (storage.ReconcileResult, error) {
	s.hooks.reached(stepMidReconcile, "upstream="+p.Key.String())
	ctx = context.WithValue(ctx, reconcileKey{}, &reconcileCall{key: p.Key.String()})
	return s.Store.Reconcile(ctx, p)
}

// reconcileKey marks the context of a Reconcile call, down to the
// statements it sends.
type reconcileKey struct{}

type reconcileCall struct {
	key           string
	inTx, counted atomic.Bool
}

// txTracer blocks at stepReconcileInTx: at the first statement a Reconcile
// sends after its BEGIN.
type txTracer struct{ hooks *hooks }

func (tr *txTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	call, ok := ctx.Value(reconcileKey{}).(*reconcileCall)
	if !ok {
		return ctx
	}
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(data.SQL)), "begin") {
		call.inTx.Store(true)
	} else if call.inTx.Load() && !call.counted.Swap(true) {
		tr.hooks.reached(stepReconcileInTx, "upstream="+call.key)
	}
	return ctx
}

func (tr *txTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// logInstaller "installs" by logging: start, then after the delay end (or
// abort when its context ends first).
type logInstaller struct {
	file  *os.File
	delay time.Duration
	hooks *hooks
}

func (in *logInstaller) Install(ctx context.Context, req drift.InstallRequest) error {
	detail := fmt.Sprintf("update=%d", req.UpdateID)
	in.hooks.reached(stepAfterClaim, detail)
	if err := in.line("start", req); err != nil {
		return err
	}
	in.hooks.reached(stepDuringInstall, detail)
	if in.delay > 0 {
		t := time.NewTimer(in.delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			_ = in.line("abort", req)
			return fmt.Errorf("install of %s stopped: %w", req.SHA, context.Cause(ctx))
		}
	}
	return in.line("end", req)
}

// line appends one event with one write(2): O_APPEND makes it atomic
// against the other replicas' writes.
func (in *logInstaller) line(event string, req drift.InstallRequest) error {
	s := fmt.Sprintf("%s %d %d %s %s %s %d\n", event, os.Getpid(), req.UpdateID, req.WorkspaceID, req.PluginName, req.SHA, time.Now().UnixNano())
	_, err := in.file.WriteString(s)
	return err
}
