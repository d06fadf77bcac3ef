// Package authheader holds the one rule for a credential that is sent in
// an HTTP Authorization header ("Bearer <token>", "token <token>"), shared
// by the git and GitHub resolvers.
package authheader

// Safe reports whether token can follow the scheme in an Authorization
// header as it is: printable ASCII without spaces, so it can neither end
// the header nor smuggle another one.
func Safe(token string) bool {
	for i := 0; i < len(token); i++ {
		if token[i] <= 0x20 || token[i] > 0x7e {
			return false
		}
	}
	return true
}
