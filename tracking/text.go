package tracking

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// TextProblem says why s cannot be recorded as free text (an actor, a
// reason, a field of a Verification): longer than max bytes, not valid
// UTF-8, or holding a control character (newline and tab are allowed
// when multiline). It returns "" for text that can be stored byte for
// byte in every backend and shown on one line (or, multiline, as
// written). This is the one place that rule lives; callers say what the
// text is and wrap ErrInvalidArgument.
func TextProblem(s string, max int, multiline bool) string {
	if len(s) > max {
		return fmt.Sprintf("is %d bytes; at most %d", len(s), max)
	}
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	for _, r := range s {
		if multiline && (r == '\n' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) {
			return fmt.Sprintf("contains control character %U", r)
		}
	}
	return ""
}
