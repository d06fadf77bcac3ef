package resolvertest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RequireSSHEnv, set to 1, makes [StartSSHD] fail instead of skipping
// when sshd or ssh-keygen is missing; CI sets it.
const RequireSSHEnv = "PLUGINDRIFT_REQUIRE_SSH"

// sshdPath is where Debian's openssh-server installs sshd.
const sshdPath = "/usr/sbin/sshd"

// sshdStartup bounds how long StartSSHD waits for sshd to listen.
const sshdStartup = 10 * time.Second

// SSHServer is a real sshd on a loopback port that serves the bare
// repositories under a root to one authorized key, as the current user.
type SSHServer struct {
	// KnownHostsFile is a known_hosts file holding the server's throwaway
	// host key under the address clients use.
	KnownHostsFile string
	// Key is the authorized client private key (OpenSSH format, no
	// passphrase).
	Key []byte
	// OtherKey is a private key the server does not accept.
	OtherKey []byte
	// Port is the loopback port sshd listens on.
	Port int

	user string
	root string
}

// URL returns the git+ssh source of the repository root/<name>.git.
func (s *SSHServer) URL(name string) string {
	return fmt.Sprintf("git+ssh://%s@127.0.0.1:%d%s/%s.git", s.user, s.Port, s.root, name)
}

// StartSSHD starts sshd (-D, in the foreground, its log in the test log)
// with a throwaway host key and one authorized key, listening on a free
// loopback port until t ends. Clients log in as the current user (root
// too: the configuration permits it) and run git-upload-pack on paths
// under root. It skips t with the reason when sshd or ssh-keygen is not
// installed (Debian: apt-get install openssh-server), and fails t instead
// when PLUGINDRIFT_REQUIRE_SSH=1.
func StartSSHD(t testing.TB, root string) *SSHServer {
	t.Helper()
	var missing []string
	if _, err := os.Stat(sshdPath); err != nil {
		missing = append(missing, sshdPath)
	}
	keygen, err := exec.LookPath("ssh-keygen")
	if err != nil {
		missing = append(missing, "ssh-keygen")
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("resolvertest: the sshd tests need %s (Debian: apt-get install openssh-server)", strings.Join(missing, " and "))
		if os.Getenv(RequireSSHEnv) == "1" {
			t.Fatalf("%s; %s=1 requires them", msg, RequireSSHEnv)
		}
		t.Skip(msg)
	}
	me, err := user.Current()
	if err != nil {
		t.Fatalf("resolvertest: current user: %v", err)
	}
	if os.Geteuid() == 0 {
		// sshd running as root wants its privilege separation directory.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatalf("resolvertest: sshd: %v", err)
		}
	}
	// sshd refuses relative paths; a temporary directory keeps the socket
	// path and key files private to the test.
	dir := t.TempDir()
	keyPair := func(name string) (private []byte, public string) {
		path := filepath.Join(dir, name)
		if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path).CombinedOutput(); err != nil {
			t.Fatalf("resolvertest: ssh-keygen: %v: %s", err, out)
		}
		priv, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("resolvertest: %v", err)
		}
		pub, err := os.ReadFile(path + ".pub")
		if err != nil {
			t.Fatalf("resolvertest: %v", err)
		}
		return priv, strings.TrimSpace(string(pub))
	}
	_, hostPub := keyPair("host_key")
	clientKey, clientPub := keyPair("client_key")
	otherKey, _ := keyPair("other_key")
	authorized := filepath.Join(dir, "authorized_keys")
	writeFile(t, authorized, clientPub+"\n")

	port := freePort(t)
	permitRoot := "no"
	if os.Geteuid() == 0 {
		permitRoot = "prohibit-password" // keys only
	}
	config := filepath.Join(dir, "sshd_config")
	writeFile(t, config, strings.Join([]string{
		"Port " + strconv.Itoa(port),
		"ListenAddress 127.0.0.1",
		"HostKey " + filepath.Join(dir, "host_key"),
		"PidFile none",
		"AuthorizedKeysFile " + authorized,
		"AllowUsers " + me.Username,
		"PermitRootLogin " + permitRoot,
		"PubkeyAuthentication yes",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"UsePAM no",
		"StrictModes no",
		"AllowTcpForwarding no",
		"X11Forwarding no",
		"PermitTTY no",
		"LogLevel VERBOSE",
		// Protocol v2, as hosting services negotiate it over ssh.
		"AcceptEnv GIT_PROTOCOL",
		// git-upload-pack is all a client may run.
		"ForceCommand " + forcedCommand,
		"",
	}, "\n"))

	cmd := exec.Command(sshdPath, "-D", "-e", "-f", config)
	cmd.Stdout, cmd.Stderr = logWriter{t, "sshd"}, logWriter{t, "sshd"}
	if err := cmd.Start(); err != nil {
		t.Fatalf("resolvertest: starting sshd: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	waitListening(t, port, exited)

	knownHosts := filepath.Join(dir, "known_hosts")
	writeFile(t, knownHosts, fmt.Sprintf("[127.0.0.1]:%d %s\n", port, hostPub))
	return &SSHServer{KnownHostsFile: knownHosts, Key: clientKey, OtherKey: otherKey, Port: port, user: me.Username, root: root}
}

// forcedCommand runs the git-upload-pack the client asked for and
// nothing else, serving filtered fetches (partial clones) as smart HTTP
// does.
const forcedCommand = `sh -c 'case "$SSH_ORIGINAL_COMMAND" in "git-upload-pack "*) GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=uploadpack.allowFilter GIT_CONFIG_VALUE_0=true exec git-shell -c "$SSH_ORIGINAL_COMMAND";; *) echo "only git-upload-pack" >&2; exit 1;; esac'`

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("resolvertest: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitListening polls, for at most sshdStartup, until something accepts
// on port: sshd gives no other sign that it is ready.
func waitListening(t testing.TB, port int, exited <-chan error) {
	t.Helper()
	deadline := time.Now().Add(sshdStartup)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for {
		select {
		case err := <-exited:
			t.Fatalf("resolvertest: sshd exited at start: %v (its log is above)", err)
		default:
		}
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			var banner [4]byte
			_ = conn.SetReadDeadline(time.Now().Add(time.Second))
			_, rerr := conn.Read(banner[:])
			conn.Close()
			if rerr == nil && bytes.Equal(banner[:], []byte("SSH-")) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("resolvertest: sshd did not listen on %s within %s", addr, sshdStartup)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatalf("resolvertest: %v", err)
	}
}
