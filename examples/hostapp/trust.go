package main

// Signatures: a trust policy file says which signers each repository's
// commits and tags must come from, and whether an unverified one is only
// shown (record) or refused until an operator overrides it (require).

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/plugindrift/plugindrift/drift"
	"github.com/plugindrift/plugindrift/resolver"
	"github.com/plugindrift/plugindrift/resolver/signature"
)

// trustConfig is the signature part of config.
type trustConfig struct {
	policyFile string
	policy     *signature.Policy // nil: no policy, entries are not-checked
}

func (c *trustConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.policyFile, "trust-policy", env("PLUGINDRIFT_TRUST_POLICY", ""), "JSON trust policy: which signers each repository's commits and tags must come from ($PLUGINDRIFT_TRUST_POLICY)")
}

// trustFile is the policy file's shape. Key files are named relative to
// the policy file.
type trustFile struct {
	Rules []struct {
		Repositories       []string `json:"repositories"`
		Mode               string   `json:"mode"` // "record" or "require"
		AllowedSignersFile string   `json:"allowed_signers_file"`
		OpenPGPKeysFile    string   `json:"openpgp_keys_file"`
		TrustHost          bool     `json:"trust_host"`
	} `json:"rules"`
}

// maxTrustFile bounds the policy file and each key file.
const maxTrustFile = 1 << 20

// load reads and checks the policy file, if any.
func (c *trustConfig) load() error {
	if c.policyFile == "" {
		return nil
	}
	raw, err := readBounded(c.policyFile)
	if err != nil {
		return fmt.Errorf("-trust-policy: %w", err)
	}
	var f trustFile
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return fmt.Errorf("-trust-policy %s: %w (want {\"rules\": [{\"repositories\": [\"github.com/acme\"], \"mode\": \"require\", \"allowed_signers_file\": \"allowed_signers\"}]})", c.policyFile, err)
	}
	if dec.More() {
		return fmt.Errorf("-trust-policy %s: one JSON object, nothing after it", c.policyFile)
	}
	if len(f.Rules) == 0 {
		return fmt.Errorf("-trust-policy %s: no rules; leave the flag out to check no signatures", c.policyFile)
	}
	dir := filepath.Dir(c.policyFile)
	var p signature.Policy
	for i, r := range f.Rules {
		rule := signature.Rule{Repositories: r.Repositories, TrustHost: r.TrustHost}
		switch r.Mode {
		case "record":
			rule.Mode = signature.Record
		case "require":
			rule.Mode = signature.Require
		default:
			return fmt.Errorf("-trust-policy %s: rule %d: mode must be \"record\" or \"require\"", c.policyFile, i)
		}
		for _, k := range []struct {
			name string
			into *[]byte
		}{{r.AllowedSignersFile, &rule.AllowedSigners}, {r.OpenPGPKeysFile, &rule.OpenPGPKeys}} {
			if k.name == "" {
				continue
			}
			if !filepath.IsAbs(k.name) {
				k.name = filepath.Join(dir, k.name)
			}
			if *k.into, err = readBounded(k.name); err != nil {
				return fmt.Errorf("-trust-policy %s: rule %d: %w", c.policyFile, i, err)
			}
		}
		p.Rules = append(p.Rules, rule)
	}
	c.policy = &p
	return nil
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTrustFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxTrustFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxTrustFile)
	}
	return b, nil
}

// verifier builds the Sweeper's signature check (its keys are parsed
// here, and a bad one stops the start), nil without a policy.
func (c *trustConfig) verifier(objects resolver.ObjectReader) (drift.Verifier, error) {
	if c.policy == nil {
		return nil, nil
	}
	v, err := signature.New(objects, *c.policy)
	if err != nil {
		return nil, fmt.Errorf("-trust-policy %s: %w", c.policyFile, err)
	}
	return v, nil
}
