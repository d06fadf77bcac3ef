package github_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/resolver/github"
	"github.com/plugindrift/plugindrift/resolver/github/internal/fakegithub"
	"github.com/plugindrift/plugindrift/tracking"
)

// Example resolves the main branch of github://acme/widget, then asks again
// with what it learned: the API answers 304 Not Modified, which costs no
// rate limit. A stand-in for the GitHub API serves the repository here, as
// github.com's API; a host would leave APIBaseURL at its default and set
// Config.Auth (see the other examples).
func Example() {
	api, cleanup := exampleAPI()
	defer cleanup()

	hosts, err := resolver.NewGitHubHosts(resolver.GitHubHost{Name: "github.com", APIBaseURL: api.BaseURL()})
	if err != nil {
		log.Fatal(err)
	}
	r, err := github.New(&github.Config{Hosts: hosts})
	if err != nil {
		log.Fatal(err)
	}
	source, err := tracking.ParseSource("github://acme/widget")
	if err != nil {
		log.Fatal(err)
	}
	ref, err := tracking.ParseRef("branch:main")
	if err != nil {
		log.Fatal(err)
	}
	req := resolver.Request{Source: source, Ref: ref}
	res, err := r.Resolve(context.Background(), req)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Revision)

	req.Known = resolver.Known{SHA: res.SHA, Version: res.Version, Validator: res.Validator}
	again, err := r.Resolve(context.Background(), req)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("unchanged:", again.Unchanged)
	// Output:
	// main@sha1:1227596007f4d7400386af9fc1105ab98adceb10
	// unchanged: true
}

// exampleAPI serves github://acme/widget, whose main branch has one commit,
// from a fake GitHub API.
func exampleAPI() (*fakegithub.Server, func()) {
	dir, err := os.MkdirTemp("", "plugindrift-example-")
	if err != nil {
		log.Fatal(err)
	}
	repo, err := fakegithub.InitRepo(filepath.Join(dir, "widget.git"), "main")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := repo.Commit("main", "first release"); err != nil {
		log.Fatal(err)
	}
	api := fakegithub.Start(fakegithub.Config{Path: func(_, name string) string { return filepath.Join(dir, name+".git") }})
	return api, func() {
		api.Close()
		_ = os.RemoveAll(dir)
	}
}
