package resolver_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/tracking"
)

// pinned stands in for a real resolver (gitcli, github): it answers every
// request with one commit.
type pinned string

func (p pinned) Resolve(_ context.Context, req resolver.Request) (resolver.Result, error) {
	return resolver.Result{SHA: string(p), Revision: resolver.Revision(req.Ref.Name(), string(p))}, nil
}

// A Registry sends each request to the resolver of its source's scheme. A
// host wires gitcli.New for git sources and the github resolver for
// github sources; local sources have no upstream and no resolver.
func ExampleRegistry() {
	reg, err := resolver.NewRegistry(map[tracking.SourceScheme]resolver.Resolver{
		tracking.SchemeGit: pinned("0123456789abcdef0123456789abcdef01234567"),
	})
	if err != nil {
		log.Fatal(err)
	}
	ref, err := tracking.ParseRef("branch:main")
	if err != nil {
		log.Fatal(err)
	}

	git, err := tracking.ParseSource("git+https://example.com/acme/plugin.git")
	if err != nil {
		log.Fatal(err)
	}
	res, err := reg.Resolve(context.Background(), resolver.Request{Source: git, Ref: ref})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Revision)

	local, err := tracking.ParseSource("local://notes")
	if err != nil {
		log.Fatal(err)
	}
	_, err = reg.Resolve(context.Background(), resolver.Request{Source: local, Ref: ref})
	fmt.Println(errors.Is(err, resolver.ErrUnsupported))
	// Output:
	// main@sha1:0123456789abcdef0123456789abcdef01234567
	// true
}

func ExampleRevision() {
	fmt.Println(resolver.Revision("v1.2.3", "0123456789abcdef0123456789abcdef01234567"))
	// Output: v1.2.3@sha1:0123456789abcdef0123456789abcdef01234567
}
