// Command hostapp is a small host application as a user of plugindrift
// would write it: configuration from flags and the environment, a bunstore
// (SQLite by default, Postgres by DSN) with its migrations, a resolver
// registry (git, and GitHub's API when a token or a GitHub App is given;
// private repositories over HTTPS, SSH and GitHub Apps, see private.go), a Sweeper on a
// cron schedule, the admin handler under /admin behind a bearer token, and
// a graceful shutdown on SIGINT/SIGTERM.
//
// Run it:
//
//	PLUGINDRIFT_ADMIN_TOKEN=s3cret go run ./examples/hostapp -db sqlite:///tmp/hostapp.db
//
// See README.md beside this file for running two replicas against one
// Postgres.
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
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/plugindrift/plugindrift/adminhttp"
	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/storage/bunstore"
	"github.com/plugindrift/plugindrift/tracking"
)

type config struct {
	webhooks     webhookConfig // push webhooks; see push.go
	addr         string
	db           string
	schedule     string
	adminToken   string
	private      privateConfig
	pluginsDir   string
	applyTimeout time.Duration
	events       eventsConfig // events.go
	trust        trustConfig  // signatures; see trust.go
}

// env returns the environment variable name, or def when it is unset.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func loadConfig(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("hostapp", flag.ContinueOnError)
	c.webhooks.flags(fs)
	fs.StringVar(&c.addr, "addr", env("PLUGINDRIFT_ADDR", "127.0.0.1:8080"), "listen address ($PLUGINDRIFT_ADDR)")
	fs.StringVar(&c.db, "db", env("PLUGINDRIFT_DB", "sqlite://plugindrift.db"), "store DSN: sqlite:///path.db or postgres://… ($PLUGINDRIFT_DB)")
	fs.StringVar(&c.schedule, "schedule", env("PLUGINDRIFT_SCHEDULE", "@every 30m"), "sweep schedule, cron spec ($PLUGINDRIFT_SCHEDULE)")
	fs.StringVar(&c.pluginsDir, "plugins-dir", env("PLUGINDRIFT_PLUGINS_DIR", "plugins"), "where workspaces' plugins live ($PLUGINDRIFT_PLUGINS_DIR)")
	fs.DurationVar(&c.applyTimeout, "apply-timeout", 10*time.Minute, "longest an install may take")
	c.private.flags(fs)
	c.events.flags(fs)
	c.trust.flags(fs)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if err := c.webhooks.load(); err != nil {
		return c, err
	}
	// Secrets come from the environment only, never from flags (ps shows flags).
	c.adminToken = os.Getenv("PLUGINDRIFT_ADMIN_TOKEN")
	if len(c.adminToken) < 8 {
		return c, errors.New("set PLUGINDRIFT_ADMIN_TOKEN to a secret of at least 8 characters: the admin API needs it")
	}
	if err := c.private.load(); err != nil {
		return c, err
	}
	if err := c.trust.load(); err != nil {
		return c, err
	}
	return c, c.events.check()
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg, err := loadConfig(os.Args[1:])
	if err != nil {
		log.Error("configuration", "error", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, log, nil); err != nil {
		log.Error("hostapp stopped", "error", err)
		os.Exit(1)
	}
}

// run serves until ctx ends. listening, when set, is told the address.
func run(ctx context.Context, cfg config, log *slog.Logger, listening func(net.Addr)) error {
	store, err := bunstore.Open(ctx, cfg.db, nil)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		return err
	}

	git, gh, err := cfg.private.resolvers(log) // see private.go
	if err != nil {
		return err
	}
	res, err := resolver.NewRegistry(map[tracking.SourceScheme]resolver.Resolver{
		tracking.SchemeGit:    git,
		tracking.SchemeGitHub: gh,
	})
	if err != nil {
		return err
	}

	// Plugins live in <plugins-dir>/<workspace>/<plugin>; the installer
	// fetches exactly the reviewed commit and swaps it in.
	installer := &drift.FetchInstaller{Fetcher: git, Dir: func(ws, plugin string) string {
		return filepath.Join(cfg.pluginsDir, ws, plugin)
	}}
	restarter := drift.RestarterFunc(func(ctx context.Context, workspaceID string) error {
		log.InfoContext(ctx, "restart workspace", "workspace", workspaceID) // your reload goes here
		return nil
	})
	mux := http.NewServeMux()
	tel, err := newTelemetry(cfg.events, store, mux, log)
	if err != nil {
		return err
	}
	updater, err := drift.NewUpdater(store, installer, restarter, &drift.UpdaterConfig{ApplyTimeout: cfg.applyTimeout, Logger: log, Observer: tel.observer})
	if err != nil {
		return err
	}
	verifier, err := cfg.trust.verifier(res) // see trust.go
	if err != nil {
		return err
	}
	sweeper, err := drift.NewSweeper(store, res, &drift.SweeperConfig{Schedule: cfg.schedule, Jitter: time.Minute, Logger: log, Observer: tel.observer, Verifier: verifier})
	if err != nil {
		return err
	}

	admin, err := adminhttp.NewHandler(adminhttp.Config{
		Updater: updater, Sweeper: sweeper, Store: store, Logger: log,
		Authorize: bearer(cfg.adminToken),
	})
	if err != nil {
		return err
	}
	mux.Handle("/admin/", admin)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	checks, err := cfg.webhooks.mount(mux, store, sweeper, log)
	if err != nil {
		return err
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
	if checks != nil {
		if err := checks.Start(ctx); err != nil {
			ln.Close()
			return err
		}
		defer checks.Stop()
	}
	eventsCtx, stopEvents := context.WithCancel(ctx)
	waitEvents := tel.start(eventsCtx)
	defer func() { stopEvents(); waitEvents() }()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("hostapp listening", "addr", ln.Addr().String(), "admin", "/admin/", "schedule", cfg.schedule)
	if listening != nil {
		listening(ln.Addr())
	}

	select {
	case err := <-errc:
		sweeper.Stop()
		return err
	case <-ctx.Done():
	}
	// Shutdown: no new sweeps; in-flight requests (an apply among them) get
	// time to finish. An apply cut short keeps its claim, which expires
	// after ApplyTimeout so that another replica can take it over.
	log.Info("shutting down")
	sweeper.Stop()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// bearer authorizes requests that carry "Authorization: Bearer <token>".
// Replace it with your own session or SSO check; the actor it returns is
// recorded as decided_by.
func bearer(token string) func(*http.Request, adminhttp.Operation) (string, error) {
	return func(r *http.Request, _ adminhttp.Operation) (string, error) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			return "", adminhttp.ErrUnauthenticated
		}
		if subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			return "", adminhttp.ErrForbidden
		}
		return "admin-token", nil
	}
}
