package authheader

import "testing"

func TestSafe(t *testing.T) {
	for token, want := range map[string]bool{
		"ghp_abc123":      true,
		"a.b-c_d~e+f/g=":  true,
		"two words":       false,
		"line\r\nX-Evil:": false,
		"tab\tin":         false,
		"nul\x00":         false,
		"del\x7f":         false,
		"non-ascii-é":     false,
	} {
		if got := Safe(token); got != want {
			t.Errorf("Safe(%q) = %v, want %v", token, got, want)
		}
	}
}
