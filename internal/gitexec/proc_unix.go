//go:build unix

package gitexec

import (
	"os/exec"
	"syscall"
)

// killProcessGroup runs git in its own process group and makes
// cancellation kill the whole group: git starts helpers (git-remote-https,
// ssh) that would otherwise outlive it and keep its pipes open.
func killProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
