// Package reliability holds the fault-injection tests of plugindrift: they
// check the invariants of the drift package (one open entry per install,
// the reviewed commit and nothing else installed, installs of one entry
// never overlapping and always accounted for, one sweeper at a time, no
// half-written sweep) against real parts under real faults: replica
// processes (the replica command beside this file) killed with SIGKILL
// or frozen with SIGSTOP at exact steps, a real Postgres that is
// restarted mid-sweep, git upstreams over smart HTTP that fail, hang or
// drop connections, and sweepers whose clocks disagree.
//
// The package has no code of its own; its tests run with go test. Short
// versions run by default; PLUGINDRIFT_RELIABILITY_LONG=1 runs the long
// versions, whose measurements RELIABILITY.md at the repository root
// records. PLUGINDRIFT_RELIABILITY_SEED=<n> replays the random choices of
// a run (every test logs its seed).
package reliability
