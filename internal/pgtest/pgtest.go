// Package pgtest gives tests a real, throwaway Postgres database.
//
// A test package calls [Main] from TestMain; each test that needs
// Postgres calls [NewDatabase], which returns the DSN of a new, empty
// database that is dropped when the test ends.
//
// Where the server comes from:
//
//   - PLUGINDRIFT_TEST_POSTGRES_DSN set (a postgres:// URL of a role that
//     may CREATE DATABASE): that server;
//   - otherwise initdb and pg_ctl on PATH or under /usr/lib/postgresql/*/bin:
//     one cluster per test binary, started on first use in a temporary
//     directory, listening on 127.0.0.1 at a free port, with durability off
//     (fsync=off), and removed by Main. Running as root, the cluster runs as
//     the "postgres" user;
//   - neither: the test is skipped, or fails when
//     PLUGINDRIFT_REQUIRE_POSTGRES=1 (CI sets it).
//
// A machine that has initdb but cannot start the cluster fails the test
// with the server's log; it is never silently skipped.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Environment variables read by this package.
const (
	EnvDSN     = "PLUGINDRIFT_TEST_POSTGRES_DSN"
	EnvRequire = "PLUGINDRIFT_REQUIRE_POSTGRES"
)

// server is the Postgres that databases are created on.
type server struct {
	adminURL *url.URL // connects to the maintenance database
	admin    *sql.DB
	cluster  *cluster // nil for an external server
}

var (
	mainCalled atomic.Bool
	startOnce  sync.Once
	srv        *server
	skipReason string // set when there is no Postgres at all
	startErr   error
	dbCounter  atomic.Int64
)

// Main runs the package's tests and then stops the cluster this package
// started, if any. Call it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
func Main(m *testing.M) {
	mainCalled.Store(true)
	code := m.Run()
	if srv != nil {
		_ = srv.admin.Close()
		if srv.cluster != nil {
			srv.cluster.stop()
		}
	}
	os.Exit(code)
}

// NewDatabase creates a new, empty database and returns its postgres://
// DSN. The database is dropped in t.Cleanup. Without Postgres the test is
// skipped, or fails when PLUGINDRIFT_REQUIRE_POSTGRES=1.
func NewDatabase(t testing.TB) string {
	t.Helper()
	if !mainCalled.Load() {
		t.Fatal("pgtest: call pgtest.Main(m) from the package's TestMain, so the test cluster is stopped when the tests end")
	}
	startOnce.Do(start)
	switch {
	case startErr != nil:
		t.Fatalf("pgtest: %v", startErr)
	case srv == nil:
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("pgtest: Postgres is required (%s=1) but %s. Install PostgreSQL's server binaries (initdb, pg_ctl; e.g. apt-get install postgresql) or set %s to a postgres:// URL of a role that may create databases.",
				EnvRequire, skipReason, EnvDSN)
		}
		t.Skipf("pgtest: no Postgres: %s (install initdb/pg_ctl or set %s)", skipReason, EnvDSN)
	}

	name := fmt.Sprintf("pgtest_%d_%d", os.Getpid(), dbCounter.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := srv.admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// FORCE (Postgres 13+) ends sessions a test left open.
		if _, err := srv.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u := *srv.adminURL
	u.Path = "/" + name
	return u.String()
}

// Stop shuts the test cluster down the way a server restart begins, in
// fast mode: sessions end and their open transactions roll back; the
// databases and what was committed stay. [Start] brings it back on the
// same address, so DSNs from [NewDatabase] work again. Should the test end
// with the server down, it is started again then, for the tests after it.
// Every database of the test binary is on this one server, so a test that
// stops it must not run in parallel with other Postgres tests. With an
// external server (PLUGINDRIFT_TEST_POSTGRES_DSN) the test is skipped: that
// server is not ours to stop.
func Stop(t testing.TB) {
	t.Helper()
	c := ownCluster(t)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return
	}
	if err := c.shutdown(); err != nil {
		t.Fatalf("pgtest: stop: %v\n%s", err, c.log())
	}
	c.down = true
	t.Cleanup(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.down {
			if err := c.startServer(); err != nil {
				t.Errorf("pgtest: start the server again after the test: %v\n%s", err, c.log())
				return
			}
			c.down = false
			forgetAdminSessions()
		}
	})
}

// Start starts the cluster that [Stop] stopped, on the same address, and
// returns once it accepts connections. It does nothing when the server
// runs.
func Start(t testing.TB) {
	t.Helper()
	c := ownCluster(t)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.down {
		return
	}
	if err := c.startServer(); err != nil {
		t.Fatalf("pgtest: start: %v\n%s", err, c.log())
	}
	c.down = false
	forgetAdminSessions()
}

// forgetAdminSessions closes the admin pool's idle connections, which the
// restart ended on the server side: the next statement (a cleanup's DROP
// DATABASE) opens a new one instead of failing on a dead one.
func forgetAdminSessions() {
	srv.admin.SetMaxIdleConns(0)
	srv.admin.SetMaxIdleConns(2)
}

// ownCluster returns the cluster this package started, skipping t when the
// server is external.
func ownCluster(t testing.TB) *cluster {
	t.Helper()
	if !mainCalled.Load() {
		t.Fatal("pgtest: call pgtest.Main(m) from the package's TestMain")
	}
	startOnce.Do(start)
	switch {
	case startErr != nil:
		t.Fatalf("pgtest: %v", startErr)
	case srv == nil:
		t.Skipf("pgtest: no Postgres: %s", skipReason)
	case srv.cluster == nil:
		t.Skipf("pgtest: the server in %s is not this package's own: it is not stopped", EnvDSN)
	}
	return srv.cluster
}

// start finds or starts the server; it runs once per test binary.
func start() {
	if dsn := os.Getenv(EnvDSN); dsn != "" {
		srv, startErr = external(dsn)
		return
	}
	bin, err := findBinDir()
	if err != nil {
		skipReason = err.Error()
		return
	}
	c, err := startCluster(bin)
	if err != nil {
		startErr = err
		return
	}
	u := &url.URL{
		Scheme:   "postgres",
		User:     url.User(c.user),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/postgres",
		RawQuery: "sslmode=disable",
	}
	admin, err := openAdmin(u.String())
	if err != nil {
		c.stop()
		startErr = fmt.Errorf("connect to the test cluster: %w\n%s", err, c.log())
		return
	}
	srv = &server{adminURL: u, admin: admin, cluster: c}
}

func external(dsn string) (*server, error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("%s must be a postgres:// URL (e.g. postgres://user:pass@localhost:5432/postgres?sslmode=disable)", EnvDSN)
	}
	admin, err := openAdmin(dsn)
	if err != nil {
		return nil, fmt.Errorf("connect to the server in %s: %w (start it, fix the URL, or unset %s to let the tests start their own cluster with initdb/pg_ctl)", EnvDSN, err, EnvDSN)
	}
	return &server{adminURL: u, admin: admin}, nil
}

func openAdmin(dsn string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	db := stdlib.OpenDB(*cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// findBinDir returns the directory holding initdb, pg_ctl and postgres.
func findBinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("initdb is neither on PATH nor under /usr/lib/postgresql/*/bin")
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// cluster is a Postgres server this package started.
type cluster struct {
	bin, dir, data, logFile string
	user                    string
	port                    int
	cred                    *syscall.Credential // nil: run as ourselves
	cmd                     *exec.Cmd
	exited                  chan struct{}

	mu   sync.Mutex // held by Stop and Start
	down bool       // stopped by Stop
}

func startCluster(bin string) (*cluster, error) {
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	c := &cluster{bin: bin, dir: dir, data: filepath.Join(dir, "data"), logFile: filepath.Join(dir, "postgres.log"), exited: make(chan struct{})}
	if err := c.setUser(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	out, err := c.run("initdb", "-D", c.data, "-U", c.user, "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	var lastErr error
	for range 3 { // a free port can be taken between probing and binding
		if c.port, err = freePort(); err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
		if lastErr = c.startServer(); lastErr == nil {
			return c, nil
		}
	}
	logText := c.log()
	_ = os.RemoveAll(dir)
	return nil, fmt.Errorf("start postgres: %w\n%s", lastErr, logText)
}

// setUser decides who runs the cluster: Postgres refuses to run as root.
func (c *cluster) setUser() error {
	if os.Geteuid() != 0 {
		u, err := user.Current()
		if err != nil {
			return err
		}
		c.user = u.Username
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("running as root, the test cluster must run as user postgres, which does not exist: %w", err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	c.user = "postgres"
	return os.Chown(c.dir, int(uid), int(gid))
}

func (c *cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "PGTZ=UTC")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	return cmd
}

func (c *cluster) run(name string, args ...string) ([]byte, error) {
	return c.command(name, args...).CombinedOutput()
}

// startServer runs postgres in the foreground as a child that dies with
// the test binary (Pdeathsig), so a test binary killed by a timeout does
// not leave a server behind. pg_ctl would detach it.
func (c *cluster) startServer() error {
	logf, err := os.OpenFile(c.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if c.cred != nil {
		_ = logf.Chown(int(c.cred.Uid), int(c.cred.Gid))
	}
	cmd := c.command("postgres", "-D", c.data,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "port="+strconv.Itoa(c.port),
		"-c", "unix_socket_directories="+c.dir,
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "max_connections=300",
		"-c", "shared_buffers=128MB",
		"-c", "log_min_messages=warning",
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr.Pdeathsig = syscall.SIGQUIT

	started := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		// Pdeathsig fires when the thread that forked the child exits, so
		// that thread stays locked to this goroutine for the server's life.
		runtime.LockOSThread()
		defer logf.Close()
		if err := cmd.Start(); err != nil {
			started <- err
			close(exited)
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(exited)
	}()
	if err := <-started; err != nil {
		return err
	}
	c.cmd, c.exited = cmd, exited

	// Wait until it accepts connections (or dies). pg_isready exits 1
	// while the server starts up, 2 while nothing answers yet.
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := c.run("pg_isready", "-q", "-h", "127.0.0.1", "-p", strconv.Itoa(c.port), "-U", c.user)
		if err == nil {
			return nil
		}
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() == 3 {
			c.kill()
			return fmt.Errorf("pg_isready: %v %s", err, out)
		}
		select {
		case <-exited:
			return errors.New("postgres exited during startup")
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.kill()
			return errors.New("postgres did not accept connections within 60s")
		}
	}
}

// shutdown asks the server for a fast shutdown (SIGINT) and waits for it
// to exit.
func (c *cluster) shutdown() error {
	if err := c.cmd.Process.Signal(syscall.SIGINT); err != nil {
		return err
	}
	select {
	case <-c.exited:
		return nil
	case <-time.After(30 * time.Second):
		c.kill()
		return errors.New("postgres did not shut down within 30s, so it was killed")
	}
}

func (c *cluster) kill() {
	if c.cmd != nil && c.cmd.Process != nil {
		_ = c.cmd.Process.Signal(syscall.SIGQUIT)
		<-c.exited
	}
}

// stop shuts the server down (immediate mode: the data is thrown away)
// and removes its directory.
func (c *cluster) stop() {
	_, _ = c.run("pg_ctl", "stop", "-D", c.data, "-m", "immediate", "-w", "-t", "30")
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		c.kill()
	}
	_ = os.RemoveAll(c.dir)
}

func (c *cluster) log() string {
	b, _ := os.ReadFile(c.logFile)
	return "postgres log:\n" + string(b)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
