package signature_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"log"
	"os"

	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/resolver/signature"
	"github.com/plugindrift/plugindrift/tracking"
)

// fixedObjects stands in for the host's *resolver.Registry: it hands over
// one commit object.
type fixedObjects struct{ commit []byte }

func (f fixedObjects) ReadObjects(context.Context, tracking.Source, tracking.Ref, resolver.Result) (resolver.Objects, error) {
	return resolver.Objects{Commit: f.commit}, nil
}

// A policy that requires commits from github.com/acme to be signed by an
// SSH key of allowed_signers judges a signed commit (testdata/README.md
// says how it was made), then the same commit with its message altered.
func Example() {
	commit, err := os.ReadFile("testdata/signed-commit")
	if err != nil {
		log.Fatal(err)
	}
	signers, err := os.ReadFile("testdata/allowed_signers")
	if err != nil {
		log.Fatal(err)
	}
	source, _ := tracking.ParseSource("github://acme/widget")
	ref, _ := tracking.ParseRef("main")
	policy := signature.Policy{Rules: []signature.Rule{{
		Repositories:   []string{"github.com/acme"},
		Mode:           signature.Require,
		AllowedSigners: signers,
	}}}

	for _, object := range [][]byte{commit, bytes.Replace(commit, []byte("1.2.0"), []byte("1.2.1"), 1)} {
		v, err := signature.New(fixedObjects{object}, policy)
		if err != nil {
			log.Fatal(err)
		}
		// git names a commit by the SHA-1 of its header and raw object.
		sum := sha1.Sum(append([]byte(fmt.Sprintf("commit %d\x00", len(object))), object...))
		got, err := v.Verify(context.Background(), source, ref, resolver.Result{SHA: hex.EncodeToString(sum[:])})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s by %q (judged by %s), blocks apply: %t\n  %s\n", got.State, got.Signer, got.By, got.Blocks(), got.Detail)
	}
	// Output:
	// verified by "alice@example.com" (judged by plugindrift), blocks apply: false
	//   commit d4f2c557547f: SSH signature by alice@example.com (SHA256:Yz3NaHKJAXbsA+wzSt4idXZt7kGyKX+uvKUv5puVzGo)
	// bad-signature by "SHA256:Yz3NaHKJAXbsA+wzSt4idXZt7kGyKX+uvKUv5puVzGo" (judged by plugindrift), blocks apply: true
	//   commit 7222c8216991: SSH signature by SHA256:Yz3NaHKJAXbsA+wzSt4idXZt7kGyKX+uvKUv5puVzGo does not match the signed content: ssh: signature did not verify
}
