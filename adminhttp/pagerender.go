package adminhttp

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/plugindrift/plugindrift/internal/redact"
)

//go:embed templates/*.html static/admin.css
var assets embed.FS

// contentSecurityPolicy allows the page nothing but its own stylesheet and
// forms posting back to itself: no script runs, even injected.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// pageFuncs are the page template's helpers.
var pageFuncs = template.FuncMap{
	"lower": strings.ToLower,
	// dict passes several values to a sub-template: dict "K1" v1 "K2" v2.
	"dict": func(kv ...any) (map[string]any, error) {
		if len(kv)%2 != 0 {
			return nil, fmt.Errorf("dict: odd number of arguments")
		}
		m := make(map[string]any, len(kv)/2)
		for i := 0; i < len(kv); i += 2 {
			k, ok := kv[i].(string)
			if !ok {
				return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
			}
			m[k] = kv[i+1]
		}
		return m, nil
	},
	// slice2 lists two values, to range over them.
	"slice2": func(a, b any) []any { return []any{a, b} },
	// short is the first line of a long error, cut to fit a summary.
	"short": func(s string) string {
		first, _, _ := strings.Cut(s, "\n")
		return redact.Truncate(first, 80)
	},
}

// loadAssets reads the embedded stylesheet and parses the templates, once,
// when the handler is made.
func (h *handler) loadAssets() error {
	var err error
	if h.css, err = assets.ReadFile("static/admin.css"); err != nil {
		return fmt.Errorf("adminhttp: read embedded stylesheet: %w", err)
	}
	if h.page, err = template.New("page.html").Funcs(pageFuncs).ParseFS(assets, "templates/page.html"); err != nil {
		return fmt.Errorf("adminhttp: parse page template: %w", err)
	}
	if h.errors, err = template.ParseFS(assets, "templates/error.html"); err != nil {
		return fmt.Errorf("adminhttp: parse error template: %w", err)
	}
	sum := sha256.Sum256(h.css)
	h.cssURL = h.prefix + "/static/admin.css?v=" + hex.EncodeToString(sum[:6])
	return nil
}

// serveCSS serves the embedded stylesheet. Its URL carries a hash of the
// content, so it may be cached for long.
func (h *handler) serveCSS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "private, max-age=86400")
	_, _ = w.Write(h.css)
}

// errorView is what the error page shows.
type errorView struct {
	CSSURL  string
	PageURL string // "" when the caller may not see the page
	Status  int
	Title   string
	Message string
}

// renderError shows e as a small HTML page.
func (h *handler) renderError(w http.ResponseWriter, r *http.Request, e *apiError) {
	v := errorView{CSSURL: h.cssURL, PageURL: h.pageURL(nil), Status: e.status, Title: http.StatusText(e.status), Message: e.message}
	if e.noBack {
		v.PageURL = ""
	}
	h.renderHTML(w, r, e.status, h.errors, v)
}

// renderHTML executes t into a buffer first, so a template failure is a
// clean 500 rather than half a page.
func (h *handler) renderHTML(w http.ResponseWriter, r *http.Request, status int, t *template.Template, data any) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		h.log.ErrorContext(r.Context(), "adminhttp: render page", "path", r.URL.Path, "error", err)
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString("<!doctype html><title>Internal error</title><p>Internal error; the server log has the details.</p>\n")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", contentSecurityPolicy)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
