// Package resolvertest is the conformance suite for resolver.Resolver: it
// builds fixture repositories with real git and holds every implementation
// to the same answers for every ref shape.
package resolvertest

import (
	"testing"

	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/tracking"
)

// Repos is a directory of bare fixture repositories, built with real git.
// The suite changes them while it runs (it moves a tag, deletes a branch),
// so a harness must read them live, not copy them.
type Repos struct {
	dir string
}

// Dir is the directory holding the repositories, one bare repository per
// name, at Dir()/<name>.git.
func (r *Repos) Dir() string { return r.dir }

// Path returns the path of the bare repository called name.
func (r *Repos) Path(name string) string { return r.dir + "/" + name + ".git" }

// Harness connects an implementation to the fixtures.
type Harness struct {
	// New returns the resolver under test and a function that names, as a
	// source that resolver understands, the fixture repository called repo.
	// It is called once per test; cleanup goes through t.Cleanup.
	New func(t *testing.T, repos *Repos) (r resolver.Resolver, source func(repo string) tracking.Source)
}

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	t.Helper()
}
