package fakegithub

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// compare answers GET /repos/{owner}/{repo}/compare/{base}...{head} as
// GitHub does for two commits of one repository: how head relates to base.
func (s *Server) compare(w http.ResponseWriter, repo repoRef, spec string) {
	notFound := func() {
		writeError(w, http.StatusNotFound, "Not Found", "https://docs.github.com/rest/commits/commits#compare-two-commits")
	}
	raw, err := url.PathUnescape(spec)
	if err != nil {
		notFound()
		return
	}
	baseRef, headRef, ok := strings.Cut(raw, "...")
	if !ok {
		notFound()
		return
	}
	base, ok1 := peel(repo.dir, baseRef)
	head, ok2 := peel(repo.dir, headRef)
	if !ok1 || !ok2 {
		notFound()
		return
	}
	count := func(rng string) int {
		out, err := git(repo.dir, "rev-list", "--count", rng)
		if err != nil {
			return -1
		}
		n, err := strconv.Atoi(strings.TrimSpace(out))
		if err != nil {
			return -1
		}
		return n
	}
	ahead, behind := count(base+".."+head), count(head+".."+base)
	if ahead < 0 || behind < 0 {
		writeError(w, http.StatusInternalServerError, "Server Error", "")
		return
	}
	status := "diverged"
	switch {
	case ahead == 0 && behind == 0:
		status = "identical"
	case behind == 0:
		status = "ahead"
	case ahead == 0:
		status = "behind"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"status":            status,
		"ahead_by":          ahead,
		"behind_by":         behind,
		"total_commits":     ahead,
		"base_commit":       map[string]any{"sha": base},
		"merge_base_commit": map[string]any{"sha": base},
		"commits":           []any{},
		"files":             []any{},
	})
}
