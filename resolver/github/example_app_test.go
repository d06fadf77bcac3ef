package github_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	gogithub "github.com/google/go-github/v62/github"

	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/resolver/gitcli"
	"github.com/plugindrift/plugindrift/resolver/github"
	"github.com/plugindrift/plugindrift/resolver/github/internal/fakegithub"
	"github.com/plugindrift/plugindrift/tracking"
)

// A GitHub App installation reads private repositories: NewApp takes the
// App id, the installation id and the App's private key (the .pem file
// GitHub issues), and mints installation tokens as they are needed. The
// same App authenticates the API (Auth.App) and git (gitcli's
// Config.Credentials). A stand-in for GitHub Enterprise's API plays the
// host here; for github.com pass resolver.DefaultGitHubHost.
func ExampleNewApp() {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		log.Fatal(err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	dir, err := os.MkdirTemp("", "plugindrift-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	repo, err := fakegithub.InitRepo(filepath.Join(dir, "widget.git"), "main")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := repo.Commit("main", "first release"); err != nil {
		log.Fatal(err)
	}
	api := fakegithub.Start(fakegithub.Config{
		Path:   func(_, name string) string { return filepath.Join(dir, name+".git") },
		Prefix: "/api/v3",
		App:    &fakegithub.App{ID: 1234, InstallationID: 5678, PublicKey: &key.PublicKey, TokenTTL: time.Hour},
	})
	defer api.Close()

	hosts, err := resolver.NewGitHubHosts(resolver.GitHubHost{Name: "ghe.example.com", APIBaseURL: api.BaseURL()})
	if err != nil {
		log.Fatal(err)
	}
	app, err := github.NewApp(hosts.Default(), 1234, 5678, keyPEM, nil)
	if err != nil {
		log.Fatal(err)
	}
	r, err := github.New(&github.Config{Hosts: hosts, Auth: map[string]github.Auth{"ghe.example.com": {App: app}}})
	if err != nil {
		log.Fatal(err)
	}
	git, err := gitcli.New(&gitcli.Config{GitHubHosts: hosts, Credentials: app})
	if err != nil {
		log.Fatal(err)
	}
	_ = git // resolves and fetches github:// sources over git with the App's token

	src, err := tracking.ParseSource("github://acme/widget")
	if err != nil {
		log.Fatal(err)
	}
	ref, err := tracking.ParseRef("head")
	if err != nil {
		log.Fatal(err)
	}
	res, err := r.Resolve(context.Background(), resolver.Request{Source: src, Ref: ref})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Revision)
	fmt.Println("installation tokens minted:", api.Minted())
	// Output:
	// main@sha1:1227596007f4d7400386af9fc1105ab98adceb10
	// installation tokens minted: 1
}

// github.com and a GitHub Enterprise host side by side, each with the
// authentication the host application already has: here its own go-github
// client for github.com and a token for the Enterprise host.
func ExampleAuth() {
	hosts, err := resolver.NewGitHubHosts(
		resolver.DefaultGitHubHost,                   // github://owner/repo
		resolver.GitHubHost{Name: "ghe.example.com"}, // github://ghe.example.com/owner/repo, API at https://ghe.example.com/api/v3/
	)
	if err != nil {
		log.Fatal(err)
	}
	hostsOwnClient := gogithub.NewClient(nil).WithAuthToken(os.Getenv("GITHUB_TOKEN"))
	r, err := github.New(&github.Config{Hosts: hosts, Auth: map[string]github.Auth{
		"github.com":      {Client: hostsOwnClient},
		"ghe.example.com": {Token: os.Getenv("GHE_TOKEN")},
	}})
	if err != nil {
		log.Fatal(err)
	}
	_ = r
	for _, h := range hosts.All() {
		fmt.Println(h.Name, h.APIBaseURL)
	}
	// Output:
	// github.com https://api.github.com/
	// ghe.example.com https://ghe.example.com/api/v3/
}
