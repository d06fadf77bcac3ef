package tracking_test

import (
	"errors"
	"fmt"

	"github.com/plugindrift/plugindrift/tracking"
)

func ExampleParseRef() {
	for _, in := range []string{"", "main", "tag:v1.2.3", "tag:latest", "semver: ^1.2 ", "head", "sha:0123456789ABCDEF0123456789ABCDEF01234567"} {
		r, err := tracking.ParseRef(in)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%q -> %s (tracked: %v, drift: %q)\n", in, r, r.Tracked(), r.DriftKind())
	}

	_, err := tracking.ParseRef("refs/heads/main")
	fmt.Println(errors.Is(err, tracking.ErrInvalidRef))
	fmt.Println(err)
	// Output:
	// "" -> none (tracked: false, drift: "")
	// "main" -> branch:main (tracked: true, drift: "new-commit")
	// "tag:v1.2.3" -> tag:v1.2.3 (tracked: true, drift: "tag-moved")
	// "tag:latest" -> tag:latest (tracked: true, drift: "new-version")
	// "semver: ^1.2 " -> semver:^1.2 (tracked: true, drift: "new-version")
	// "head" -> head (tracked: true, drift: "new-commit")
	// "sha:0123456789ABCDEF0123456789ABCDEF01234567" -> sha:0123456789abcdef0123456789abcdef01234567 (tracked: false, drift: "")
	// true
	// tracking: invalid ref "refs/heads/main": name starts with "refs/": write the short name, e.g. branch:main or tag:v1.2.3 (accepted: none, sha:<40|64 hex>, tag:<name>, tag:latest, semver:<constraint>, branch:<name>, <name>, head)
}

func ExampleParseSource() {
	for _, in := range []string{
		"github://acme/widget.git#main",
		"git+ssh://git@Git.Example.com/acme/widget.git#tag:v1.2.0",
		"git+file:///srv/git/widget",
		"widget",
	} {
		src, err := tracking.ParseSource(in)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%s [%s, transport %q, installed from %s]\n", src, src.Scheme(), src.Transport(), src.InstalledFrom())
	}

	for _, in := range []string{
		"git@github.com:acme/widget.git",
		"git+https://user:token@github.com/acme/widget.git",
		"ext::sh -c 'touch /tmp/x'",
	} {
		_, err := tracking.ParseSource(in)
		fmt.Println(errors.Is(err, tracking.ErrInvalidSource), err)
	}
	// Output:
	// github://acme/widget#branch:main [github, transport "https", installed from branch:main]
	// git+ssh://git@git.example.com/acme/widget.git#tag:v1.2.0 [git, transport "ssh", installed from tag:v1.2.0]
	// git+file:///srv/git/widget [git, transport "file", installed from none]
	// local://widget [local, transport "", installed from none]
	// true tracking: invalid source "git@github.com:acme/widget.git": scp-like address "git@github.com:acme/widget.git": write "git+ssh://git@github.com/acme/widget.git"
	// true tracking: invalid source "git+https://***@github.com/acme/widget.git": credentials in URLs are not allowed: remove "user@" (a token written as the user name is a credential too) and supply credentials through the resolver (gitcli.Config.Credentials) instead, e.g. git+https://host/path
	// true tracking: invalid source "ext::sh -c 'touch /tmp/x'": transport "ext::" not allowed (git remote helpers can run commands); write git+https://…, git+ssh://… or git+file://…
}

func ExampleValidateRefName() {
	for _, name := range []string{"feature/login", "m\u0430in", "-x", "a..b", "v1.0.lock", "ma\u202Ein"} {
		fmt.Println(tracking.ValidateRefName(name))
	}
	// Output:
	// <nil>
	// <nil>
	// tracking: invalid ref name "-x": begins with "-" (it could be read as a command-line option)
	// tracking: invalid ref name "a..b": contains ".."
	// tracking: invalid ref name "v1.0.lock": has a component ending with ".lock" ("v1.0.lock")
	// tracking: invalid ref name "ma\u202ein": contains invisible format character U+202E
}
