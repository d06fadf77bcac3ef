package main

// Private repositories: how hostapp reaches them. Flags name files and ids;
// secrets (tokens) come from the environment only, and key files are read
// when needed, so a rotated key is used at once.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/resolver/gitcli"
	"github.com/plugindrift/plugindrift/resolver/github"
	"github.com/plugindrift/plugindrift/tracking"
)

// privateConfig is the private-repository part of config.
type privateConfig struct {
	// githubHost is the default GitHub host (an Enterprise host's name, or
	// github.com); its API and git are at GitHub's usual addresses.
	githubHost string
	// githubToken (GITHUB_TOKEN) is sent to the GitHub API and, as HTTPS
	// basic credentials, to git for github:// sources.
	githubToken string
	// A GitHub App installation, for the API and git alike.
	appID, installationID int64
	appKeyFile            string
	// An SSH key for git+ssh sources, checked against known hosts.
	sshKeyFile, sshKnownHosts string
	// gitToken (PLUGINDRIFT_GIT_TOKEN) goes to https git sources on
	// gitTokenHost only, as user gitUser.
	gitToken, gitTokenHost, gitUser string
}

// flags registers the private-repository flags on fs.
func (p *privateConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&p.githubHost, "github-host", env("PLUGINDRIFT_GITHUB_HOST", resolver.DefaultGitHubHost.Name), "default GitHub host of github://owner/repo: github.com or a GitHub Enterprise Server host ($PLUGINDRIFT_GITHUB_HOST)")
	fs.Int64Var(&p.appID, "github-app-id", 0, "GitHub App id, to read private repositories as an App installation (with -github-installation-id and -github-app-key)")
	fs.Int64Var(&p.installationID, "github-installation-id", 0, "GitHub App installation id")
	fs.StringVar(&p.appKeyFile, "github-app-key", "", "GitHub App private key file (.pem)")
	fs.StringVar(&p.sshKeyFile, "ssh-key", "", "SSH private key file for git+ssh sources (with -ssh-known-hosts)")
	fs.StringVar(&p.sshKnownHosts, "ssh-known-hosts", "", "known_hosts file the git+ssh servers' host keys are checked against")
	fs.StringVar(&p.gitTokenHost, "git-token-host", "", "host that receives $PLUGINDRIFT_GIT_TOKEN for git+https sources (no other host does)")
	fs.StringVar(&p.gitUser, "git-token-user", "x-access-token", "user name sent with $PLUGINDRIFT_GIT_TOKEN")
}

// load reads the secrets from the environment and checks that the flags
// that go together were given together.
func (p *privateConfig) load() error {
	p.githubToken = os.Getenv("GITHUB_TOKEN")
	p.gitToken = os.Getenv("PLUGINDRIFT_GIT_TOKEN")
	app := p.appID != 0 || p.installationID != 0 || p.appKeyFile != ""
	switch {
	case app && (p.appID == 0 || p.installationID == 0 || p.appKeyFile == ""):
		return errors.New("a GitHub App needs -github-app-id, -github-installation-id and -github-app-key together")
	case app && p.githubToken != "":
		return errors.New("use either GITHUB_TOKEN or a GitHub App (-github-app-id …), not both")
	case (p.sshKeyFile == "") != (p.sshKnownHosts == ""):
		return errors.New("-ssh-key and -ssh-known-hosts go together: the server's host key is always checked")
	case (p.gitToken == "") != (p.gitTokenHost == ""):
		return errors.New("PLUGINDRIFT_GIT_TOKEN and -git-token-host go together: the token is sent to that host only")
	}
	if p.sshKnownHosts != "" {
		abs, err := filepath.Abs(p.sshKnownHosts)
		if err != nil {
			return fmt.Errorf("-ssh-known-hosts: %w", err)
		}
		p.sshKnownHosts = abs
	}
	return nil
}

// resolvers builds the git resolver (also the Fetcher) and, when there are
// API credentials, the GitHub API resolver; otherwise github:// sources go
// through git.
func (p *privateConfig) resolvers(log *slog.Logger) (*gitcli.Resolver, resolver.Resolver, error) {
	name := p.githubHost
	if name == "" {
		name = resolver.DefaultGitHubHost.Name
	}
	hosts, err := resolver.NewGitHubHosts(resolver.GitHubHost{Name: name})
	if err != nil {
		return nil, nil, err
	}
	var app *github.App
	if p.appKeyFile != "" {
		key, err := os.ReadFile(p.appKeyFile)
		if err != nil {
			return nil, nil, fmt.Errorf("-github-app-key: %w", err)
		}
		if app, err = github.NewApp(hosts.Default(), p.appID, p.installationID, key, nil); err != nil {
			return nil, nil, err
		}
	}
	git, err := gitcli.New(&gitcli.Config{GitHubHosts: hosts, Credentials: p.gitCredentials(app, hosts.Default().Name)})
	if err != nil {
		return nil, nil, err
	}
	if app == nil && p.githubToken == "" {
		return git, git, nil // anonymous git over https
	}
	// The REST API, with conditional requests.
	gh, err := github.New(&github.Config{Hosts: hosts, Logger: log, Auth: map[string]github.Auth{
		hosts.Default().Name: {App: app, Token: p.githubToken},
	}})
	if err != nil {
		return nil, nil, err
	}
	return git, gh, nil
}

// gitCredentials answers gitcli: the App's token or GITHUB_TOKEN for
// github:// sources, the SSH key for ssh, PLUGINDRIFT_GIT_TOKEN for its
// host.
func (p *privateConfig) gitCredentials(app *github.App, gitHubHost string) gitcli.Credentials {
	return gitcli.CredentialsFunc(func(ctx context.Context, req gitcli.CredentialRequest) (gitcli.Credential, error) {
		switch {
		case req.Source.Scheme() == tracking.SchemeGitHub && app != nil:
			return app.Credential(ctx, req)
		case req.Source.Scheme() == tracking.SchemeGitHub && p.githubToken != "" && req.GitHub.Name == gitHubHost:
			return gitcli.Basic("x-access-token", p.githubToken), nil
		case req.Transport == "ssh" && p.sshKeyFile != "":
			key, err := os.ReadFile(p.sshKeyFile)
			if err != nil {
				return gitcli.Credential{}, fmt.Errorf("-ssh-key: %w", err)
			}
			return gitcli.SSHKey(key, p.sshKnownHosts), nil
		case req.Transport != "ssh" && p.gitToken != "" && req.Host == strings.ToLower(p.gitTokenHost):
			// The operator named this host; plain http is their call.
			return gitcli.Basic(p.gitUser, p.gitToken), nil
		}
		return gitcli.Credential{}, nil
	})
}
