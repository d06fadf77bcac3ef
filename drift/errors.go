package drift

import "errors"

var (
	// ErrInstallFailed: the Installer returned an error; the entry went back
	// to pending with Attempts+1 and LastError.
	ErrInstallFailed = errors.New("drift: install failed")
	// ErrRestartFailed: the install was recorded (the entry is applied) but
	// the Restarter failed; applying the entry again retries only the
	// restart.
	ErrRestartFailed = errors.New("drift: restart failed")
	// ErrLeaseLost: another replica took the sweeper lease while this
	// sweep ran (its renewal found it held by someone else); the sweep
	// stopped, and its report says what it had done.
	ErrLeaseLost = errors.New("drift: sweeper lease lost to another replica")
	// ErrUnverified: the entry's trust policy requires a verified
	// signature and its commit (or tag) is not verified
	// (tracking.Verification.Blocks); Apply refuses it and changes
	// nothing. An operator who reviewed the commit applies it with
	// Updater.ApplyUnverified, which records why.
	ErrUnverified = errors.New("drift: signature verification required")
)
