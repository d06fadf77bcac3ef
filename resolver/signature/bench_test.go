package signature

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/tracking"
)

// benchmarkVerify measures one Verify of a signed commit: splitting the
// object, checking the signature and combining the verdict.
func benchmarkVerify(b *testing.B, r Rule, commit []byte) {
	r.Repositories = []string{"*"}
	v, err := New(&objectReader{objs: resolver.Objects{Commit: commit}}, Policy{Rules: []Rule{r}})
	require.NoError(b, err)
	source, ref := mustSource(b, testSource), mustRef(b, "main")
	res := resolver.Result{SHA: fx.shas["ssh-commit"]}
	b.ReportAllocs()
	for b.Loop() {
		got, err := v.Verify(context.Background(), source, ref, res)
		if err != nil || got.State != tracking.VerificationVerified {
			b.Fatalf("Verify = %+v, %v", got, err)
		}
	}
}

func BenchmarkVerifySSHCommit(b *testing.B) {
	benchmarkVerify(b, Rule{AllowedSigners: aliceSigners("")}, fx.raw["ssh-commit"])
}

func BenchmarkVerifyOpenPGPCommit(b *testing.B) {
	needGPG(b)
	benchmarkVerify(b, Rule{OpenPGPKeys: fx.carolKey}, fx.raw["pgp-commit"])
}
