package plugindrift_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/plugindrift/plugindrift"

// pkg is what go list says of one package of the module.
type pkg struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Imports    []string // direct, without tests
	Deps       []string // transitive, without tests
}

// listModule returns the module's packages. go list runs once per test
// binary: every layout test reads the same answer.
func listModule(t *testing.T) []pkg {
	t.Helper()
	pkgs, err := modulePackages()
	if errors.Is(err, exec.ErrNotFound) {
		t.Skip("no go command to list the module's packages with")
	}
	require.NoError(t, err)
	require.NotEmpty(t, pkgs)
	return pkgs
}

var modulePackages = sync.OnceValues(func() ([]pkg, error) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(gobin, "list", "-json=ImportPath,Dir,GoFiles,Imports,Deps", "./...")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w: %s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list output: %w", err)
		}
		p.ImportPath = strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
})

// under reports whether package path p is dir or inside it.
func under(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }

func moduleImports(p pkg) []string {
	var own []string
	for _, imp := range p.Imports {
		if rest, ok := strings.CutPrefix(imp, module+"/"); ok {
			own = append(own, rest)
		}
	}
	return own
}

// TestImportDirection holds the module to DESIGN §1: imports point one
// way, and nothing imports adminhttp or the examples.
func TestImportDirection(t *testing.T) {
	// What each core package may import of the module, besides internal/
	// packages (tracking's one: the redaction function, §10).
	allowed := map[string][]string{
		"tracking": {},
		"storage":  {"tracking"},
		"resolver": {"tracking"},
		"drift":    {"tracking", "storage", "resolver"},
	}
	for _, p := range listModule(t) {
		for _, imp := range moduleImports(p) {
			if under(imp, "examples") {
				t.Errorf("%s imports %s: nothing imports the examples", p.ImportPath, imp)
			}
			if under(imp, "adminhttp") && !under(p.ImportPath, "adminhttp") && !under(p.ImportPath, "examples") && !under(p.ImportPath, "internal/reliability") {
				t.Errorf("%s imports %s: only host programs import adminhttp", p.ImportPath, imp)
			}
			want, core := allowed[p.ImportPath]
			if !core || under(imp, "internal") {
				continue
			}
			ok := false
			for _, a := range want {
				ok = ok || imp == a
			}
			if !ok {
				t.Errorf("%s imports %s; it may import only %v (and internal packages)", p.ImportPath, imp, want)
			}
		}
		if p.ImportPath == "tracking" {
			for _, imp := range moduleImports(p) {
				if imp != "internal/redact" {
					t.Errorf("tracking imports %s: the leaf imports only the redaction function", imp)
				}
			}
		}
	}
}

// TestHeavyDependenciesStayAtTheEdges holds the module to DESIGN §1: bun
// only in storage/bunstore, go-github only in resolver/github, robfig/cron
// only in drift. Host programs and test fixtures (examples, internal test
// harnesses) may use the edges, and so depend on what the edges import.
func TestHeavyDependenciesStayAtTheEdges(t *testing.T) {
	edges := []struct{ dep, home string }{
		{"github.com/uptrace/bun", "storage/bunstore"},
		{"github.com/google/go-github/", "resolver/github"},
		{"github.com/robfig/cron", "drift"},
	}
	hosts := []string{"examples", "internal/reliability", "internal/pgtest"}
	for _, p := range listModule(t) {
		for _, e := range edges {
			for _, imp := range p.Imports {
				if strings.HasPrefix(imp, e.dep) && !under(p.ImportPath, e.home) && !isHost(p.ImportPath, hosts) {
					t.Errorf("%s imports %s: only %s may", p.ImportPath, imp, e.home)
				}
			}
		}
		// The core packages must not reach bun or go-github at all,
		// not even through another package.
		if core := p.ImportPath; core == "tracking" || core == "storage" || core == "resolver" || core == "drift" || core == "adminhttp" || core == "storage/memstore" {
			for _, dep := range p.Deps {
				if strings.HasPrefix(dep, "github.com/uptrace/bun") || strings.HasPrefix(dep, "github.com/google/go-github/") {
					t.Errorf("core package %s depends on %s", core, dep)
					break
				}
			}
		}
	}
}

func isHost(p string, hosts []string) bool {
	for _, h := range hosts {
		if under(p, h) {
			return true
		}
	}
	return false
}

// TestNoInitFunctions holds the module to DESIGN §1: no init()
// registration.
func TestNoInitFunctions(t *testing.T) {
	fset := token.NewFileSet()
	for _, p := range listModule(t) {
		for _, name := range p.GoFiles {
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.SkipObjectResolution)
			require.NoError(t, err)
			for _, d := range f.Decls {
				if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.Name == "init" {
					t.Errorf("%s: func init(): register explicitly instead", fset.Position(fd.Pos()))
				}
			}
		}
	}
}
