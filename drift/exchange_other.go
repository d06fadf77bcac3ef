//go:build !linux

package drift

import "errors"

// exchange would swap a and b in one step; outside Linux it cannot.
func exchange(a, b string) error { return errors.ErrUnsupported }
