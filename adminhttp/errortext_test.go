package adminhttp

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestErrorText(t *testing.T) {
	for in, want := range map[string]string{
		"":                  "",
		"registry said 503": "registry said 503",
		"open /srv/plugins/ws-1/chat: permission denied":                       "open …/chat: permission denied",
		`exec: "/usr/local/bin/git": executable file not found`:                `exec: "…/git": executable file not found`,
		"fork/exec /usr/bin/git: no such file or directory":                    "fork/exec …/git: no such file or directory",
		"fatal: '/home/ci/repos/a.git' does not appear to be a git repository": "fatal: '…/a.git' does not appear to be a git repository",
		"copy (/var/lib/plugindrift/tmp/x1/) failed":                           "copy (…/x1) failed",
		"dir=/opt/app/plugins, mode=0755":                                      "dir=…/plugins, mode=0755",
		"cannot write /srv/a/b.":                                               "cannot write …/b.",
		"/srv/a/b at the start":                                                "…/b at the start",
		`open C:\Users\ci\plugins\chat: access denied`:                         `open …/chat: access denied`,
		"git+file:///srv/mirror/acme/chat.git: not found":                      "git+file://…/chat.git: not found",
		"two: /a/b and /c/d":                                                   "two: …/b and …/d",
		// Left alone: one element tells nothing more, URLs keep their paths,
		// and relative paths and protocol names are not local paths.
		"stat /srv: no such file":                                 "stat /srv: no such file",
		"GET https://api.github.com/repos/acme/chat/commits: 404": "GET https://api.github.com/repos/acme/chat/commits: 404",
		"git+https://git.example.com/acme/chat.git hung up":       "git+https://git.example.com/acme/chat.git hung up",
		"plugins/chat/main.go:12: syntax error":                   "plugins/chat/main.go:12: syntax error",
		"HTTP/1.1 502 Bad Gateway":                                "HTTP/1.1 502 Bad Gateway",
		"a / b":                                                   "a / b",
		"<script>alert(1)</script>":                               "<script>alert(1)</script>",
		// Credentials are masked, in a path too.
		"clone https://x-access-token:ghp_abcdefghijklmnopqrstuvwxyz0123456789@github.com/acme/chat failed": "clone https://***@github.com/acme/chat failed",
		"token ghp_abcdefghijklmnopqrstuvwxyz0123456789 in /etc/plugindrift/secrets/env":                    "token ghp_*** in …/env",
	} {
		assert.Equal(t, want, errorText(in), in)
	}
}
