package adminhttp

import (
	"strings"

	"github.com/plugindrift/plugindrift/internal/redact"
)

// errorText is what operators are shown of a text that the host's
// Installer or Restarter, a resolver, git or GitHub wrote: an entry's
// last_error and restart_error, the errors of a sweep report. Every API
// field and page field that carries such text goes through it, and
// nothing else does this.
//
// Credentials are masked (redact.String), then every absolute local path
// is cut to its last element, "…/<last element>", so that the layout of
// the host's disks does not travel with it: "open /srv/plugins/ws-1/chat:
// permission denied" is shown as "open …/chat: permission denied". The
// paths of URLs (which follow a host) are left as they are; those of
// file:// URLs are local paths and are cut.
func errorText(s string) string {
	s = redact.String(s)
	var b strings.Builder
	done := 0 // s[:done] is in b
	for i := 0; i < len(s); {
		pathStart, ok := localPathAt(s, i)
		if !ok {
			i++
			continue
		}
		end := pathStart
		if s[end] != '/' {
			end += len(`C:`) // a drive letter, whose ':' does not end the path
		}
		for end < len(s) && !endsPath(s[end]) {
			end++
		}
		for end > pathStart && s[end-1] == '.' {
			end-- // the full stop of a sentence, not the path's
		}
		if last, cut := lastElement(s[pathStart:end]); cut {
			b.WriteString(s[done:pathStart])
			b.WriteString("…/")
			b.WriteString(last)
			done = end
		}
		i = max(end, i+1)
	}
	if done == 0 {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}

// localPathAt reports whether a local absolute path begins at s[i], and
// where: a Unix path ("/a/b") or a Windows one ("C:\a\b") at the start of
// s or after a space, quote, bracket, '=' or ','; or the path of a file://
// URL ("file:///a/b", "git+file:///a/b"), which begins after "file://".
func localPathAt(s string, i int) (pathStart int, ok bool) {
	if strings.HasPrefix(s[i:], "file:///") {
		return i + len("file://"), true
	}
	if i > 0 && !beforePath(s[i-1]) {
		return 0, false
	}
	if s[i] == '/' || i+2 < len(s) && isASCIILetter(s[i]) && s[i+1] == ':' && s[i+2] == '\\' {
		return i, true
	}
	return 0, false
}

func beforePath(c byte) bool { return strings.IndexByte(" \t\n\r\"'`([{=,", c) >= 0 }

func endsPath(c byte) bool { return strings.IndexByte(" \t\n\r\"'`()[]{}<>:;,", c) >= 0 || c < 0x20 }

func isASCIILetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

// lastElement returns the last element of a path of at least two
// elements; cut is false for a shorter one ("/srv"), which tells nothing
// that its last element would not.
func lastElement(p string) (last string, cut bool) {
	if len(p) >= 2 && p[1] == ':' {
		p = p[2:] // the drive letter
	}
	elems := strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' })
	if len(elems) < 2 {
		return "", false
	}
	return elems[len(elems)-1], true
}
