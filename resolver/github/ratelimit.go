package github

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	gogithub "github.com/google/go-github/v62/github"

	"github.com/plugindrift/plugindrift/resolver"
)

const (
	// minWait is the shortest wait a RateLimitError asks for.
	minWait = time.Second
	// maxWait caps what a server can ask for; GitHub's windows are an hour.
	maxWait = 24 * time.Hour
	// defaultWait applies when a limited response names no time, as
	// GitHub's documentation advises ("wait for at least one minute").
	defaultWait = time.Minute
)

// held returns the error to answer with, without any request, while the
// host's wait has not passed at now (the injected clock); nil otherwise.
func (e *endpoint) held(now time.Time) *resolver.RateLimitError {
	e.mu.Lock()
	until := e.holdUntil
	e.mu.Unlock()
	if !now.Before(until) {
		return nil
	}
	return &resolver.RateLimitError{Host: e.apiHost, RetryAfter: clampWait(until.Sub(now))}
}

// hold records that the host is not to be called before t.
func (e *endpoint) hold(t time.Time) {
	e.mu.Lock()
	if t.After(e.holdUntil) {
		e.holdUntil = t
	}
	e.mu.Unlock()
}

// observe reads the rate-limit headers of a response. For a refusal (a
// primary or secondary limit, or 429) it holds the host back and returns
// the error to report; for any other response that reports the limit
// exhausted it holds the host back until the reset and returns nil.
func (e *endpoint) observe(now time.Time, hr *http.Response, err error) *resolver.RateLimitError {
	if hr == nil {
		return nil
	}
	exhausted := hr.Header.Get("X-RateLimit-Remaining") == "0"
	if !limited(hr, err, exhausted) {
		if exhausted {
			if reset, ok := resetTime(hr); ok && reset.After(now) {
				e.hold(reset)
			}
		}
		return nil
	}
	wait := retryWait(hr, now)
	e.hold(now.Add(wait))
	return &resolver.RateLimitError{Host: e.apiHost, RetryAfter: wait}
}

// limited reports whether a response refuses because of a rate limit.
func limited(hr *http.Response, err error, exhausted bool) bool {
	switch hr.StatusCode {
	case http.StatusTooManyRequests:
		return true
	case http.StatusForbidden:
		var primary *gogithub.RateLimitError
		var secondary *gogithub.AbuseRateLimitError
		return exhausted || hr.Header.Get("Retry-After") != "" ||
			errors.As(err, &primary) || errors.As(err, &secondary)
	}
	return false
}

// retryWait is how long a refusal asks to wait: Retry-After (seconds or an
// HTTP date), else X-RateLimit-Reset minus now, else defaultWait; clamped
// to [minWait, maxWait].
func retryWait(hr *http.Response, now time.Time) time.Duration {
	if v := hr.Header.Get("Retry-After"); v != "" {
		if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
			if secs > int64(maxWait/time.Second) {
				return maxWait
			}
			return clampWait(time.Duration(secs) * time.Second)
		}
		if t, err := http.ParseTime(v); err == nil {
			return clampWait(t.Sub(now))
		}
	}
	if reset, ok := resetTime(hr); ok {
		return clampWait(reset.Sub(now))
	}
	return defaultWait
}

// resetTime parses X-RateLimit-Reset (Unix seconds).
func resetTime(hr *http.Response) (time.Time, bool) {
	v := hr.Header.Get("X-RateLimit-Reset")
	if v == "" {
		return time.Time{}, false
	}
	secs, err := strconv.ParseInt(v, 10, 64)
	if err != nil || secs <= 0 {
		return time.Time{}, false
	}
	return time.Unix(secs, 0), true
}

func clampWait(d time.Duration) time.Duration {
	return min(max(d, minWait), maxWait)
}
