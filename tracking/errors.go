package tracking

import "errors"

// Sentinel errors. Every package of plugindrift wraps these (with %w) rather
// than exposing the error types of a database driver, git or an HTTP client,
// so callers match them with errors.Is.
var (
	// ErrNotFound: the workspace, plugin, update, repository or ref does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the entity is in a state that does not allow the operation
	// (dismissing an applied update, applying a superseded one, …).
	ErrConflict = errors.New("conflict")
	// ErrBusy: another caller holds a live claim on the entry.
	ErrBusy = errors.New("busy: claimed by another caller")
	// ErrClaimLost: the caller's apply claim expired and was taken over, or
	// the entry left applying; the caller's write was refused.
	ErrClaimLost = errors.New("apply claim lost: it expired and was taken over, or the entry changed")

	// ErrInvalidRef: a tracked ref does not follow the grammar of ParseRef.
	ErrInvalidRef = errors.New("invalid ref")
	// ErrInvalidSource: a source does not follow the grammar of ParseSource.
	ErrInvalidSource = errors.New("invalid source")
	// ErrInvalidPluginName: a plugin name does not follow ValidatePluginName.
	ErrInvalidPluginName = errors.New("invalid plugin name")
	// ErrInvalidWorkspaceID: a workspace id does not follow ValidateWorkspaceID.
	ErrInvalidWorkspaceID = errors.New("invalid workspace id")
	// ErrInvalidSHA: a commit id is not 40 or 64 hexadecimal characters.
	ErrInvalidSHA = errors.New("invalid commit sha")
	// ErrInvalidArgument: any other malformed argument (an unknown status, a
	// negative limit, a malformed cursor).
	ErrInvalidArgument = errors.New("invalid argument")
)
