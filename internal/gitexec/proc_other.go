//go:build !unix

package gitexec

import "os/exec"

// killProcessGroup keeps exec's default cancellation (kill git itself);
// Cmd.WaitDelay bounds the wait for helpers that outlive it.
func killProcessGroup(cmd *exec.Cmd) {}
