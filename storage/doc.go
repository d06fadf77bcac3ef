// Package storage defines [Store], the contract every plugindrift backend
// implements, and the parameter types its methods take.
//
// The rules of the update queue (DESIGN §5) are stated once, as the
// conformance suite in package storetest, and every backend — bunstore on
// SQLite and Postgres, memstore — passes it. Backends translate their native
// errors into the sentinels of package tracking exactly once; no driver
// error type reaches a caller as the thing to match.
//
// # Cost
//
// A sweep costs O(distinct upstreams), not O(installs): [Store.ListUpstreams]
// pages through distinct (source, ref) pairs, and [Store.Reconcile] applies
// the queue rules for one upstream in a constant number of set-based
// statements inside one transaction, whatever the number of installs.
package storage
