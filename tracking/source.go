package tracking

import "errors"

// SourceScheme says where a plugin comes from.
type SourceScheme string

const (
	SchemeGitHub SourceScheme = "github" // github://owner/repo
	SchemeGit    SourceScheme = "git"    // git+https, git+http, git+ssh, git+file
	SchemeLocal  SourceScheme = "local"  // local://name; no upstream
)

// Source is a parsed plugin source. The zero Source is invalid.
type Source struct {
	Scheme SourceScheme
	// Owner and Repo are set for SchemeGitHub.
	Owner string
	Repo  string
	// URL is the git remote for SchemeGit, without the "git+" prefix and
	// without the fragment: "https://host/path.git", "file:///abs/path".
	URL string
	// Name is the plugin name for SchemeLocal.
	Name string
	// InstalledFrom is the optional "#ref" part: the ref the plugin was
	// installed from (not the ref it tracks). RefNone when absent.
	InstalledFrom Ref
}

// ParseSource parses a plugin source (see the package documentation for the
// grammar). It rejects credentials in URLs, transports other than https,
// http, ssh and file, GitHub owners and repositories outside GitHub's
// grammar, and local names that are not plugin names. Errors wrap
// ErrInvalidSource and say what to write instead.
func ParseSource(s string) (Source, error) {
	return Source{}, errors.New("unimplemented")
}

// String returns the canonical form, which ParseSource accepts and returns
// unchanged: "github://owner/repo[#ref]", "git+https://host/path[#ref]",
// "local://name".
func (s Source) String() string { return "" }

// HasUpstream reports whether the source can drift (github and git).
func (s Source) HasUpstream() bool { return s.Scheme == SchemeGitHub || s.Scheme == SchemeGit }

// Transport is the URL scheme of a git source ("https", "http", "ssh",
// "file"); "https" for GitHub; "" for local.
func (s Source) Transport() string { return "" }

// MarshalText implements encoding.TextMarshaler with the canonical form.
func (s Source) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseSource.
func (s *Source) UnmarshalText(b []byte) error {
	v, err := ParseSource(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ValidatePluginName checks a plugin name: ^[a-z0-9][a-z0-9._-]{0,99}$ and
// no "..". Plugin names become path components on hosts. Errors wrap
// ErrInvalidPluginName.
func ValidatePluginName(name string) error { return errors.New("unimplemented") }

// ValidateWorkspaceID checks a workspace id: 1 to 128 bytes of ASCII
// letters, digits and "._:@-", starting with a letter or digit. Errors wrap
// ErrInvalidWorkspaceID.
func ValidateWorkspaceID(id string) error { return errors.New("unimplemented") }
