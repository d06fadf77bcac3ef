package storetest

import "testing"

func runAll(t *testing.T, h Harness) {}
