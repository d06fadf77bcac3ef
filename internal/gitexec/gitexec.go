// Package gitexec runs the git binary the way plugindrift trusts it to run:
// with an environment that cannot prompt, read the host's git configuration
// or reach transports other than the allowed ones, and with a timeout on
// every call. A failure says why in its message, with the first line of
// git's standard error (credentials masked, shortened); the whole of it
// stays on the error for logs.
//
// Callers still put "--" before positional arguments and validate every
// value they pass; gitexec only makes the process itself predictable.
package gitexec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/plugindrift/plugindrift/internal/redact"
)

// Defaults of Config.
const (
	DefaultTimeout   = 30 * time.Second
	DefaultMaxOutput = 64 << 20
)

// noRepository is a GIT_DIR that cannot exist (/dev/null is not a
// directory), so a command run without a repository never discovers one
// in the working directory of the host process and never reads its
// configuration.
const noRepository = "/dev/null/plugindrift-no-repository"

// maxStderr bounds how much of git's standard error an Error keeps.
const maxStderr = 16 << 10

// maxReason bounds the line of git's standard error that an Error's
// message quotes.
const maxReason = 200

// inherited lists the variables of the host process that reach git: what it
// needs to find programs, reach the network through a proxy, verify TLS
// with a custom CA and let ssh find its keys and agent. Everything else,
// GIT_* variables included, is dropped.
var inherited = []string{
	"PATH", "HOME", "TMPDIR", "SYSTEMROOT",
	"SSH_AUTH_SOCK",
	"http_proxy", "https_proxy", "no_proxy", "all_proxy",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY",
	"SSL_CERT_FILE", "SSL_CERT_DIR",
}

// Config configures a Runner. The zero Config is usable.
type Config struct {
	// Path is the git binary. Defaults to "git", looked up in PATH.
	Path string
	// Timeout bounds each call. Defaults to DefaultTimeout.
	Timeout time.Duration
	// AllowFile lets git use the file transport (file:// URLs and local
	// paths). Defaults to false.
	AllowFile bool
	// MaxOutput bounds the standard output a call may produce; a call
	// producing more fails. Defaults to DefaultMaxOutput.
	MaxOutput int
}

// Runner runs git. It is safe for concurrent use.
type Runner struct {
	path      string
	timeout   time.Duration
	maxOutput int
	// env is what every call inherits; a Call's variables come after it,
	// and hardening after those, so a Call cannot undo hardening.
	env       []string
	hardening []string
	options   []string
}

// Call is what one call adds to the Runner's environment, for that git
// process and the programs it starts only. Nothing of it is ever part of
// argv, an Error or a log line, so it may carry credentials.
type Call struct {
	// Config holds git configuration for this call, passed as
	// GIT_CONFIG_COUNT, GIT_CONFIG_KEY_<n> and GIT_CONFIG_VALUE_<n>
	// variables rather than as "-c" arguments, which any user of the
	// machine can read in the process list. (The environment of a process
	// is readable by processes of the same user, through /proc.)
	Config []ConfigEntry
	// Env holds extra "KEY=value" variables, such as GIT_SSH_COMMAND (which
	// defaults to "ssh -o BatchMode=yes"). They cannot replace the
	// variables that harden the call.
	Env []string
	// Secret, when set, is written to a pipe that git inherits as file
	// descriptor 3, for a credential helper to read (see gitcli). It is
	// readable once, by git and the programs it starts, and appears in no
	// file, argument or variable. At most MaxSecret bytes.
	Secret []byte
}

// ConfigEntry is one git configuration variable.
type ConfigEntry struct {
	Key, Value string
}

// MaxSecret bounds Call.Secret, well below a pipe's buffer, so writing it
// never waits for git to read.
const MaxSecret = 16 << 10

// New returns a Runner; nil cfg means defaults.
func New(cfg *Config) *Runner {
	var c Config
	if cfg != nil {
		c = *cfg
	}
	if c.Path == "" {
		c.Path = "git"
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxOutput <= 0 {
		c.MaxOutput = DefaultMaxOutput
	}
	protocols, fileAllow := "https:http:ssh", "never"
	if c.AllowFile {
		protocols, fileAllow = protocols+":file", "always"
	}

	var env []string
	for _, k := range inherited {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	// ssh must fail rather than ask for a password or a host key; a Call
	// may replace this command (to name a key, say).
	env = append(env, "GIT_SSH_COMMAND=ssh -o BatchMode=yes")
	hardening := []string{
		"GIT_TERMINAL_PROMPT=0",
		"GIT_ASKPASS=",
		"SSH_ASKPASS=",
		"LC_ALL=C",
		"LANGUAGE=",
		"GIT_ALLOW_PROTOCOL=" + protocols,
		"GIT_PROTOCOL_FROM_USER=0",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_NO_REPLACE_OBJECTS=1",
	}
	return &Runner{
		path:      c.Path,
		timeout:   c.Timeout,
		maxOutput: c.MaxOutput,
		env:       env,
		hardening: hardening,
		options: []string{
			"-c", "protocol.file.allow=" + fileAllow,
			"-c", "core.hooksPath=/dev/null",
			"-c", "core.fsmonitor=false",
		},
	}
}

// Run runs "git <args...>" and returns its standard output. args[0] is the
// subcommand. When repo is empty the command runs outside any repository
// (ls-remote); otherwise repo is the absolute path of the work tree of a
// repository whose git directory is repo/.git, and the command runs there.
// A relative repo is refused: git would resolve it from inside itself.
//
// A failure is an *Error. When ctx ends or the timeout passes, the Error
// wraps ctx's error (context.Canceled or context.DeadlineExceeded).
func (r *Runner) Run(parent context.Context, repo string, args ...string) ([]byte, error) {
	return r.RunCall(parent, repo, Call{}, args...)
}

// RunCall is Run with call's additions to the environment of this one
// call. A Secret longer than MaxSecret, or an Env entry that is not
// KEY=value, is refused before git runs.
func (r *Runner) RunCall(parent context.Context, repo string, call Call, args ...string) ([]byte, error) {
	if len(args) == 0 {
		return nil, errors.New("gitexec: no subcommand")
	}
	if repo != "" && !filepath.IsAbs(repo) {
		return nil, fmt.Errorf("gitexec: git %s: repository %q is not an absolute path", args[0], repo)
	}
	ctx, cancel := context.WithTimeout(parent, r.timeout)
	defer cancel()

	argv := make([]string, 0, len(r.options)+len(args))
	argv = append(append(argv, r.options...), args...)
	for i, kv := range call.Env {
		if key, _, ok := strings.Cut(kv, "="); !ok || key == "" || strings.ContainsRune(kv, 0) {
			// The entry is not quoted: its value may be a credential.
			return nil, fmt.Errorf("gitexec: git %s: environment entry %d is not KEY=value", args[0], i)
		}
	}
	if len(call.Secret) > MaxSecret {
		return nil, fmt.Errorf("gitexec: git %s: secret of %d bytes is longer than %d", args[0], len(call.Secret), MaxSecret)
	}
	cmd := exec.CommandContext(ctx, r.path, argv...)
	cmd.Env = make([]string, 0, len(r.env)+len(call.Env)+2*len(call.Config)+len(r.hardening)+3)
	cmd.Env = append(cmd.Env, r.env...)
	cmd.Env = append(cmd.Env, call.Env...)
	cmd.Env = append(cmd.Env, r.hardening...)
	cmd.Env = append(cmd.Env, "GIT_CONFIG_COUNT="+strconv.Itoa(len(call.Config)))
	for i, c := range call.Config {
		n := strconv.Itoa(i)
		cmd.Env = append(cmd.Env, "GIT_CONFIG_KEY_"+n+"="+c.Key, "GIT_CONFIG_VALUE_"+n+"="+c.Value)
	}
	if call.Secret != nil {
		secret, err := secretPipe(call.Secret)
		if err != nil {
			return nil, fmt.Errorf("gitexec: git %s: %w", args[0], err)
		}
		defer secret.Close()
		cmd.ExtraFiles = []*os.File{secret} // file descriptor 3
	}
	if repo == "" {
		cmd.Env = append(cmd.Env, "GIT_DIR="+noRepository)
	} else {
		cmd.Dir = repo
		cmd.Env = append(cmd.Env, "GIT_DIR="+filepath.Join(repo, ".git"), "GIT_WORK_TREE="+repo)
	}
	stdout := &capped{max: r.maxOutput}
	stderr := &capped{max: maxStderr, truncate: true}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	killProcessGroup(cmd)
	cmd.WaitDelay = time.Second

	err := cmd.Run()
	if err == nil {
		return stdout.Bytes(), nil
	}
	e := &Error{Command: args[0], ExitCode: -1, Stderr: stderr.String(), Err: err}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		e.ExitCode = exit.ExitCode()
	}
	switch {
	case ctx.Err() != nil:
		e.Err = ctx.Err()
		if parent.Err() == nil {
			e.timeout = r.timeout // our own bound, not the caller's context
		}
	case stdout.overflow:
		e.Err = fmt.Errorf("more than %d bytes of output", r.maxOutput)
	}
	return nil, e
}

// secretPipe returns the reading end of a pipe that holds secret and is
// closed for writing, so a reader gets secret and then end of file.
func secretPipe(secret []byte) (*os.File, error) {
	rd, wr, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	_, err = wr.Write(secret) // fits the pipe's buffer: MaxSecret
	if cerr := wr.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		rd.Close()
		return nil, err
	}
	return rd, nil
}

// Error is a failed git call. Its message names the subcommand and the
// cause and, when git wrote one, quotes the first non-empty line of its
// standard error ("git init: exit status 128: fatal: Invalid path …") with
// credentials masked and at most 200 bytes long. The whole standard error,
// which may name hosts and paths, is in Stderr for logs.
type Error struct {
	// Command is the git subcommand ("ls-remote", "fetch").
	Command string
	// ExitCode is git's exit status, or -1 when it did not exit by itself
	// (it could not start, or was killed at the timeout).
	ExitCode int
	// Stderr is git's standard error (its first 16 KiB).
	Stderr string
	// Err is the cause: an *exec.ExitError, a context error, or the error
	// starting git.
	Err error

	timeout time.Duration
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("git %s: %v", e.Command, e.Err)
	if e.timeout > 0 {
		msg = fmt.Sprintf("git %s: timed out after %s", e.Command, e.timeout)
	}
	if reason := e.reason(); reason != "" {
		msg += ": " + reason
	}
	return msg
}

// reason is the first non-empty line of Stderr, usually git's own
// "fatal: …", redacted and shortened. A remote writes part of what git
// prints ("remote: …"), so the line is made printable first: control
// characters become '?' and invalid UTF-8 becomes U+FFFD (strings.Map).
func (e *Error) reason() string {
	for line := range strings.Lines(e.Stderr) {
		line = strings.Map(printable, strings.TrimSpace(line))
		if line != "" {
			return redact.Truncate(redact.String(line), maxReason)
		}
	}
	return ""
}

func printable(r rune) rune {
	if unicode.IsControl(r) && r != '\t' {
		return '?'
	}
	return r
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// StderrContains reports whether git's standard error contains any of
// substrs, ignoring case.
func (e *Error) StderrContains(substrs ...string) bool {
	s := strings.ToLower(e.Stderr)
	for _, sub := range substrs {
		if strings.Contains(s, strings.ToLower(sub)) {
			return true
		}
	}
	return false
}

// capped is a buffer with a size limit. Past the limit it either keeps
// what it has and reports success (truncate, for diagnostics) or fails the
// write, which ends the command. It has no ReadFrom, so that io.Copy goes
// through Write.
type capped struct {
	buf      bytes.Buffer
	max      int
	truncate bool
	overflow bool
}

func (c *capped) Write(p []byte) (int, error) {
	room := c.max - c.buf.Len()
	if len(p) <= room {
		return c.buf.Write(p)
	}
	c.overflow = true
	if room > 0 {
		c.buf.Write(p[:room])
	}
	if c.truncate {
		return len(p), nil
	}
	return 0, errors.New("gitexec: output limit reached")
}

func (c *capped) Bytes() []byte  { return c.buf.Bytes() }
func (c *capped) String() string { return c.buf.String() }
