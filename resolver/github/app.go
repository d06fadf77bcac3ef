package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/bradleyfalzon/ghinstallation/v2"

	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/resolver/gitcli"
	"github.com/plugindrift/plugindrift/tracking"
)

// App authenticates as one installation of a GitHub App, through
// github.com/bradleyfalzon/ghinstallation/v2: it signs a JWT with the
// App's private key, trades it at POST /app/installations/{id}/access_tokens
// for an installation token, and mints a new one a minute before the
// current one expires (tokens last an hour). One App serves both
// resolvers, so the same installation reaches private repositories over
// the API and over git:
//
//   - as Auth.App of the github resolver, every API request to the
//     host carries "Authorization: token <installation token>";
//   - as gitcli's Config.Credentials, github:// sources on the App's host
//     get the token as HTTPS basic credentials (user "x-access-token"),
//     through gitcli's credential pipe.
//
// Tokens go to the App's API host and, for git, to github:// sources on
// its host only. An App is safe for concurrent use.
type App struct {
	tr      *ghinstallation.Transport
	host    string // GitHubHost.Name
	apiHost string // host (with port) of the API root
	base    http.RoundTripper
}

var _ gitcli.Credentials = (*App)(nil)

// AppConfig configures an App. nil means defaults.
type AppConfig struct {
	// Transport carries the token requests and, under App.HTTPClient, the
	// API requests (a proxy, a custom CA). Defaults to
	// http.DefaultTransport.
	Transport http.RoundTripper
}

// NewApp returns the App installation installationID of the GitHub App
// appID on host (github.com: resolver.DefaultGitHubHost; an Enterprise
// host: its entry of resolver.GitHubHosts), authenticating with the App's
// private key (the PEM file GitHub issues). Nothing is sent until a token
// is needed. A key that does not parse or an id that is not positive
// returns an error wrapping tracking.ErrInvalidArgument, without quoting
// the key.
func NewApp(host resolver.GitHubHost, appID, installationID int64, privateKeyPEM []byte, cfg *AppConfig) (*App, error) {
	if appID <= 0 || installationID <= 0 {
		return nil, fmt.Errorf("github: NewApp: the App id (%d) and the installation id (%d) must be positive; GitHub shows both on the App's settings and installation pages: %w", appID, installationID, tracking.ErrInvalidArgument)
	}
	hosts, err := resolver.NewGitHubHosts(host)
	if err != nil {
		return nil, fmt.Errorf("github: NewApp: %w", err)
	}
	h := hosts.Default()
	base := http.DefaultTransport
	if cfg != nil && cfg.Transport != nil {
		base = cfg.Transport
	}
	tr, err := ghinstallation.New(base, appID, installationID, privateKeyPEM)
	if err != nil {
		// ghinstallation's message says what failed to parse; it never
		// holds the key.
		return nil, fmt.Errorf("github: NewApp: the private key is not an RSA key in PEM form (the .pem file GitHub issues): %w", tracking.ErrInvalidArgument)
	}
	tr.BaseURL = strings.TrimSuffix(h.APIBaseURL, "/")
	u, err := url.Parse(h.APIBaseURL)
	if err != nil {
		return nil, fmt.Errorf("github: NewApp: %w", err)
	}
	return &App{tr: tr, host: h.Name, apiHost: u.Host, base: base}, nil
}

// Token returns a current installation token, minting a new one when the
// last is within a minute of expiring. Its errors never hold a token.
func (a *App) Token(ctx context.Context) (string, error) {
	tok, err := a.tr.Token(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("github: App installation token: %w", ctx.Err())
		}
		var he *ghinstallation.HTTPError
		if errors.As(err, &he) && he.Response != nil {
			if he.Response.StatusCode == http.StatusUnauthorized || he.Response.StatusCode == http.StatusForbidden || he.Response.StatusCode == http.StatusNotFound {
				return "", fmt.Errorf("github: App installation token: the API answered %s; check the App id, the installation id and that the private key is the App's current one: %w", he.Response.Status, resolver.ErrUnauthorized)
			}
			return "", fmt.Errorf("github: App installation token: the API answered %s", he.Response.Status)
		}
		return "", fmt.Errorf("github: App installation token: %w", err)
	}
	return tok, nil
}

// HTTPClient returns a client whose requests to the App's API host carry
// the installation token ("Authorization: token …"); requests to other
// hosts (a redirect) carry none.
func (a *App) HTTPClient() *http.Client {
	return &http.Client{Transport: &authTransport{base: a.base, host: a.apiHost, header: func(req *http.Request) (string, error) {
		tok, err := a.Token(req.Context())
		if err != nil {
			return "", err
		}
		return "token " + tok, nil
	}}}
}

// Credential implements gitcli.Credentials: a github:// source on the
// App's host gets the installation token as basic credentials (user
// "x-access-token"); every other source gets none.
func (a *App) Credential(ctx context.Context, req gitcli.CredentialRequest) (gitcli.Credential, error) {
	if req.Source.Scheme() != tracking.SchemeGitHub || req.GitHub.Name != a.host {
		return gitcli.Credential{}, nil
	}
	tok, err := a.Token(ctx)
	if err != nil {
		return gitcli.Credential{}, err
	}
	return gitcli.Basic("x-access-token", tok), nil
}
