package push

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
)

// Headers of the generic form.
const (
	// GenericSignatureHeader carries "sha256=<hex HMAC-SHA256 of the
	// body>", as GitHub's X-Hub-Signature-256 does.
	GenericSignatureHeader = "X-Plugindrift-Signature-256"
	// GenericDeliveryHeader optionally names the delivery, so that a
	// replay is recognised.
	GenericDeliveryHeader = "X-Plugindrift-Delivery"
)

// verify reports whether the request carries the provider's proof that it
// knows secret: an HMAC-SHA256 of the body (GitHub, Gitea, Forgejo,
// generic) or the token itself (GitLab). Comparisons take constant time.
// An empty secret verifies nothing.
func verify(p Provider, h http.Header, body []byte, secret string) bool {
	if secret == "" {
		return false
	}
	switch p {
	case GitHub:
		return hmacMatches(h.Get("X-Hub-Signature-256"), "sha256=", body, secret)
	case Gitea:
		sig := h.Get("X-Forgejo-Signature")
		if sig == "" {
			sig = h.Get("X-Gitea-Signature")
		}
		return hmacMatches(sig, "", body, secret)
	case GitLab:
		token := h.Get("X-Gitlab-Token")
		return subtle.ConstantTimeCompare([]byte(token), []byte(secret)) == 1
	case Generic:
		return hmacMatches(h.Get(GenericSignatureHeader), "sha256=", body, secret)
	}
	return false
}

// hmacMatches checks a hex HMAC-SHA256 of body after prefix.
func hmacMatches(header, prefix string, body []byte, secret string) bool {
	hexSig, ok := strings.CutPrefix(header, prefix)
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	return hmac.Equal(got, sign(body, secret))
}

// sign is the HMAC-SHA256 of body under secret.
func sign(body []byte, secret string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}

// Signature returns the value of GenericSignatureHeader for body signed
// with secret: "sha256=" and the hex HMAC-SHA256. It is the same value
// GitHub sends in X-Hub-Signature-256.
func Signature(body []byte, secret string) string {
	return "sha256=" + hex.EncodeToString(sign(body, secret))
}

// sender says which provider sent the request, and the event it names.
// Gitea and Forgejo also send GitHub's headers, so they are recognised
// first.
func sender(h http.Header) (Provider, string) {
	for _, c := range []struct {
		header   string
		provider Provider
	}{
		{"X-Forgejo-Event", Gitea},
		{"X-Gitea-Event", Gitea},
		{"X-Gitlab-Event", GitLab},
		{"X-GitHub-Event", GitHub},
	} {
		if v := h.Get(c.header); v != "" {
			return c.provider, v
		}
	}
	return Generic, ""
}

// deliveryID is the provider's id of the delivery, "" when it sent none.
func deliveryID(p Provider, h http.Header) string {
	var names []string
	switch p {
	case GitHub:
		names = []string{"X-GitHub-Delivery"}
	case GitLab:
		names = []string{"X-Gitlab-Event-UUID", "Idempotency-Key"}
	case Gitea:
		names = []string{"X-Forgejo-Delivery", "X-Gitea-Delivery"}
	case Generic:
		names = []string{GenericDeliveryHeader}
	}
	for _, n := range names {
		if v := h.Get(n); v != "" {
			return v
		}
	}
	return ""
}

// deliveryKey is the store's name for a delivery: the provider and a
// hash of its id, a fixed size whatever the header held.
func deliveryKey(p Provider, id string) string {
	sum := sha256.Sum256([]byte(id))
	return string(p) + ":" + hex.EncodeToString(sum[:])
}
