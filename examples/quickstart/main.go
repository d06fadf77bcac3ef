// Command quickstart tells the whole plugindrift story on one machine, with
// no network: a plugin's upstream as a real git repository served over
// smart HTTP on 127.0.0.1, an embedded SQLite store, four workspaces that
// follow it in different ways, a sweep that finds what moved, an operator
// who applies one update and dismisses another, a second sweep that
// re-queues nothing, and then a force-push that raises an alarm and a bad
// release that is rolled back and held until a good one comes.
//
//	go run ./examples/quickstart              # the story, then exit
//	go run ./examples/quickstart -serve       # then keep the admin page up
//	go run ./examples/quickstart -db postgres://user@127.0.0.1/db
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/plugindrift/plugindrift/adminhttp"
	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/resolver/gitcli"
	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/storage/bunstore"
	"github.com/plugindrift/plugindrift/tracking"
)

type options struct {
	db    string // DSN; empty: SQLite in the temp dir
	serve bool
	addr  string
}

func main() {
	var o options
	flag.StringVar(&o.db, "db", "", "store DSN (default: an embedded SQLite file in a temp dir; postgres://… for Postgres)")
	flag.BoolVar(&o.serve, "serve", false, "after the story, serve the admin page until interrupted")
	flag.StringVar(&o.addr, "addr", "127.0.0.1:0", "address for -serve (loopback only by default)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

const plugin = "hello"

// story holds what the steps share.
type story struct {
	out     io.Writer
	store   *bunstore.Store
	up      *upstream
	source  string
	git     *gitcli.Resolver
	sweeper *drift.Sweeper
	updater *drift.Updater
	tracker *tracking.Tracker
	root    string
}

func run(ctx context.Context, o options, out io.Writer) error {
	root, err := os.MkdirTemp("", "plugindrift-quickstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	s := &story{out: out, root: root}

	s.step("1. An upstream: a plugin repository served over smart HTTP")
	if s.up, err = newUpstream(ctx, root, "hello-plugin"); err != nil {
		return err
	}
	base, stopServer, err := s.up.serve()
	if err != nil {
		return err
	}
	defer stopServer()
	v100, err := s.up.commit(ctx, "hello 1.0.0", map[string]string{"plugin.json": `{"name":"hello","version":"1.0.0"}` + "\n", "hello.txt": "Hello!\n"})
	if err != nil {
		return err
	}
	if err := s.up.pushMain(ctx); err != nil {
		return err
	}
	if err := s.up.tag(ctx, "v1.0.0", v100, false); err != nil {
		return err
	}
	s.source = "git+" + base + "/hello-plugin.git"
	fmt.Fprintf(out, "source %s\nv1.0.0 = %s\n", s.source, short(v100))

	dsn := o.db
	if dsn == "" {
		dsn = "sqlite://" + filepath.Join(root, "plugindrift.db")
	}
	if s.store, err = bunstore.Open(ctx, dsn, nil); err != nil {
		return err
	}
	defer s.store.Close()
	if err := s.store.Migrate(ctx); err != nil {
		return err
	}
	fmt.Fprintf(out, "store  %s (migrated)\n", redact.String(dsn))

	// HistoryCacheDir turns on force-push detection (act 7).
	if s.git, err = gitcli.New(&gitcli.Config{HistoryCacheDir: filepath.Join(root, "history")}); err != nil {
		return err
	}
	if s.sweeper, err = drift.NewSweeper(s.store, s.git, &drift.SweeperConfig{Schedule: "@every 30m"}); err != nil {
		return err
	}
	installer := &drift.FetchInstaller{Fetcher: s.git, Dir: s.pluginDir}
	s.updater, err = drift.NewUpdater(s.store, drift.InstallerFunc(func(ctx context.Context, req drift.InstallRequest) error {
		fmt.Fprintf(out, "  installer: fetching %s at %s into %s\n", req.PluginName, short(req.SHA), s.rel(s.pluginDir(req.WorkspaceID, req.PluginName)))
		return installer.Install(ctx, req)
	}), drift.RestarterFunc(func(ctx context.Context, workspaceID string) error {
		fmt.Fprintf(out, "  restarter: restarting workspace %s\n", workspaceID)
		return nil
	}), nil)
	if err != nil {
		return err
	}
	if s.tracker, err = tracking.NewTracker(s.store, nil); err != nil {
		return err
	}

	s.step("2. Four workspaces install hello v1.0.0")
	for _, w := range []struct{ ws, ref string }{
		{"acme", "tag:latest"},
		{"globex", "branch:main"},
		{"initech", "tag:v1.0.0"},
		{"umbrella", "sha:" + v100},
	} {
		if err := installer.Install(ctx, drift.InstallRequest{WorkspaceID: w.ws, PluginName: plugin, Source: mustSource(s.source), SHA: v100}); err != nil {
			return err
		}
		if _, err := s.tracker.RecordInstall(ctx, tracking.InstallRecord{
			WorkspaceID: w.ws, PluginName: plugin, Source: s.source, Ref: w.ref, SHA: v100, Version: "v1.0.0",
		}); err != nil {
			return err
		}
	}
	if err := s.printInstalls(ctx); err != nil {
		return err
	}

	s.step("3. Upstream moves: v1.1.0, a new commit on main, and v1.0.0 re-pointed")
	v110, err := s.up.commit(ctx, "hello 1.1.0", map[string]string{"plugin.json": `{"name":"hello","version":"1.1.0"}` + "\n", "hello.txt": "Hello, world!\n"})
	if err != nil {
		return err
	}
	if err := s.up.tag(ctx, "v1.1.0", v110, false); err != nil {
		return err
	}
	tip, err := s.up.commit(ctx, "docs: typo", map[string]string{"README": "hello plugin\n"})
	if err != nil {
		return err
	}
	if err := s.up.pushMain(ctx); err != nil {
		return err
	}
	// Someone re-points the published v1.0.0 tag at a different commit:
	// the integrity alarm.
	if _, err := s.up.run(ctx, s.up.work, "checkout", "-q", "-b", "hotfix", v100); err != nil {
		return err
	}
	moved, err := s.up.commit(ctx, "1.0.0, quietly changed", map[string]string{"hello.txt": "Hello?\n"})
	if err != nil {
		return err
	}
	if err := s.up.tag(ctx, "v1.0.0", moved, true); err != nil {
		return err
	}
	fmt.Fprintf(out, "v1.1.0 = %s\nmain   = %s\nv1.0.0 = %s (was %s)\n", short(v110), short(tip), short(moved), short(v100))

	s.step("4. A sweep")
	pending, err := s.sweep(ctx)
	if err != nil {
		return err
	}

	s.step("5. The operator applies acme's update and dismisses globex's")
	for _, u := range pending {
		switch u.WorkspaceID {
		case "acme":
			applied, err := s.updater.Apply(ctx, u.ID, "operator@example.com")
			if err != nil {
				return err
			}
			b, err := os.ReadFile(filepath.Join(s.pluginDir("acme", plugin), "plugin.json"))
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "update %d %s by %s; acme's plugin.json now: %s", applied.ID, applied.Status, applied.DecidedBy, b)
		case "globex":
			d, err := s.updater.Dismiss(ctx, u.ID, "operator@example.com", "waiting for the next release")
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "update %d %s: %q\n", d.ID, d.Status, d.Reason)
		}
	}

	s.step("6. A second sweep")
	if _, err := s.sweep(ctx); err != nil {
		return err
	}
	if err := s.printInstalls(ctx); err != nil {
		return err
	}
	fmt.Fprintln(out, "\nacme runs v1.1.0, globex's dismissed commit is not queued again, initech's")
	fmt.Fprintln(out, "tag-moved alarm waits for a human, and umbrella's pinned install never moved.")

	if err := s.integrityAct(ctx, v110); err != nil {
		return err
	}
	if err := s.printEvents(ctx); err != nil {
		return err
	}

	if o.serve {
		return s.serveAdmin(ctx, o.addr)
	}
	return nil
}

func (s *story) pluginDir(workspaceID, pluginName string) string {
	return filepath.Join(s.root, "workspaces", workspaceID, "plugins", pluginName)
}

func (s *story) rel(path string) string {
	if r, err := filepath.Rel(s.root, path); err == nil {
		return r
	}
	return path
}

func (s *story) step(title string) {
	fmt.Fprintf(s.out, "\n== %s\n", title)
}

func (s *story) printInstalls(ctx context.Context) error {
	ins, err := s.store.ListInstalls(ctx, storage.ListInstallsParams{Limit: 100})
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(s.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKSPACE\tPLUGIN\tTRACKS\tINSTALLED")
	for _, in := range ins {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s %s\n", in.WorkspaceID, in.PluginName, shortRef(in.Ref), short(in.InstalledSHA), in.InstalledVersion)
	}
	return tw.Flush()
}

// sweep runs one sweep, prints its report and the pending queue, and
// returns the queue.
func (s *story) sweep(ctx context.Context) ([]tracking.Update, error) {
	rep, err := s.sweeper.RunOnce(ctx)
	if err != nil {
		return nil, err
	}
	s.printReport(rep)
	return s.printQueue(ctx)
}

func (s *story) printReport(r drift.Report) {
	fmt.Fprintf(s.out, "report: upstreams=%d resolved=%d unchanged=%d failed=%d installs=%d queued=%d superseded=%d\n",
		r.Upstreams, r.Resolved, r.Unchanged, r.Failed, r.Installs, r.Queued, r.Superseded)
	for _, e := range r.Errors {
		fmt.Fprintf(s.out, "  error: %s %s: %s\n", e.Source, e.Ref, e.Error)
	}
}

func (s *story) printQueue(ctx context.Context) ([]tracking.Update, error) {
	us, err := s.store.ListUpdates(ctx, storage.ListUpdatesParams{Statuses: []tracking.UpdateStatus{tracking.StatusPending}, Limit: 100})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(s.out, "pending queue (%d):\n", len(us))
	tw := tabwriter.NewWriter(s.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tWORKSPACE\tTRACKS\tFROM → TO\tKIND")
	for _, u := range us {
		kind := string(u.Kind)
		switch u.Kind {
		case tracking.KindTagMoved:
			kind = "⚠ tag-moved (a published tag was re-pointed: review before applying)"
		case tracking.KindHistoryRewritten:
			kind = "⚠ history-rewritten (the branch was force-pushed away from the installed commit)"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s → %s\t%s\n", u.ID, u.WorkspaceID, shortRef(u.Ref), withVersion(u.FromSHA, u.FromVersion), withVersion(u.ToSHA, u.ToVersion), kind)
	}
	return us, tw.Flush()
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

func shortRef(r tracking.Ref) string {
	if r.Kind() == tracking.RefSHA {
		return "sha:" + short(r.SHA())
	}
	return r.String()
}

func withVersion(sha, version string) string {
	if version == "" {
		return short(sha)
	}
	return short(sha) + " (" + version + ")"
}

func mustSource(s string) tracking.Source {
	src, err := tracking.ParseSource(s)
	if err != nil {
		panic(err)
	}
	return src
}

// serveAdmin keeps the admin page up on a loopback port until ctx ends
// (Ctrl-C), so a person can click through the same queue.
func (s *story) serveAdmin(ctx context.Context, addr string) error {
	handler, err := adminhttp.NewHandler(adminhttp.Config{
		Updater: s.updater, Sweeper: s.sweeper, Store: s.store,
		Authorize: demoAuthorize,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	s.step("9. The admin page")
	fmt.Fprintf(s.out, "open http://%s%s/ (Ctrl-C to stop)\n", ln.Addr(), adminhttp.DefaultPrefix)
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// demoAuthorize lets in requests from this machine only, as the actor
// "demo-operator". A real host checks its own session or token here.
func demoAuthorize(r *http.Request, _ adminhttp.Operation) (string, error) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return "", adminhttp.ErrForbidden
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return "", adminhttp.ErrForbidden
	}
	return "demo-operator", nil
}

// printEvents delivers the events the story wrote to a subscriber that
// prints them: what a host's webhook or Slack sink would have received.
func (s *story) printEvents(ctx context.Context) error {
	s.step("8. The events the story wrote (delivered to a printing subscriber)")
	tw := tabwriter.NewWriter(s.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "EVENT\tTYPE\tWORKSPACE\tUPDATE")
	printer := drift.Subscriber{Name: "quickstart", Deliver: func(_ context.Context, ev tracking.Event) error {
		ws, upd := ev.WorkspaceID, fmt.Sprint(ev.UpdateID)
		if ev.UpdateID == 0 {
			ws, upd = "-", "-"
		}
		_, err := fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", ev.ID, ev.Type, ws, upd)
		return err
	}}
	d, err := drift.NewDispatcher(s.store, []drift.Subscriber{printer}, nil)
	if err != nil {
		return err
	}
	rep, err := d.RunOnce(ctx)
	if err != nil {
		return err
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(s.out, "delivered %d events, each once, in order\n", rep.Delivered)
	return nil
}
