package tracking_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/plugindrift/plugindrift/tracking"
)

func TestTextProblem(t *testing.T) {
	for _, c := range []struct {
		s         string
		max       int
		multiline bool
		want      string
	}{
		{"reviewed by hand", 100, false, ""},
		{"line one\nline two\tend", 100, true, ""},
		{"line one\nline two", 100, false, "contains control character U+000A"},
		{"esc\x1b[31m", 100, true, "contains control character U+001B"},
		{"c1\u0085", 100, true, "contains control character U+0085"},
		{"caf\xe9", 100, false, "is not valid UTF-8"},
		{strings.Repeat("x", 11), 10, false, "is 11 bytes; at most 10"},
	} {
		assert.Equal(t, c.want, tracking.TextProblem(c.s, c.max, c.multiline), "%q", c.s)
	}
}
