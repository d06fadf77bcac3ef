package main

import (
	"context"
	"fmt"
)

// integrityAct is act 7: main is force-pushed to a history without the
// commit globex runs, which raises the history-rewritten alarm; a bad
// release reaches acme and is rolled back and held; the next good release
// is offered again. v110 is the commit of v1.1.0, which acme runs.
func (s *story) integrityAct(ctx context.Context, v110 string) error {
	out := s.out
	s.step("7. A force-push, a bad release rolled back and held, and the next good one")
	// Someone rewrites main from scratch and force-pushes it.
	if _, err := s.up.run(ctx, s.up.work, "checkout", "-q", "--orphan", "rewritten"); err != nil {
		return err
	}
	rewritten, err := s.up.commit(ctx, "hello, rewritten", map[string]string{"hello.txt": "Hello from a rewritten history!\n"})
	if err != nil {
		return err
	}
	if _, err := s.up.run(ctx, s.up.work, "push", "-q", "--force", "origin", "rewritten:main"); err != nil {
		return err
	}
	// And publishes v1.2.0, built on v1.1.0: it will turn out to be bad.
	if _, err := s.up.run(ctx, s.up.work, "checkout", "-q", "-b", "release", v110); err != nil {
		return err
	}
	bad, err := s.up.commit(ctx, "hello 1.2.0", map[string]string{"plugin.json": `{"name":"hello","version":"1.2.0"}` + "\n"})
	if err != nil {
		return err
	}
	if err := s.up.tag(ctx, "v1.2.0", bad, false); err != nil {
		return err
	}
	fmt.Fprintf(out, "main   = %s (force-pushed: globex's commit is gone from it)\nv1.2.0 = %s\n", short(rewritten), short(bad))

	pending, err := s.sweep(ctx)
	if err != nil {
		return err
	}
	for _, u := range pending {
		if u.WorkspaceID != "acme" {
			continue
		}
		applied, err := s.updater.Apply(ctx, u.ID, "operator@example.com")
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "update %d %s: acme runs %s\n", applied.ID, applied.Status, applied.ToVersion)
	}

	fmt.Fprintln(out, "acme reports that v1.2.0 crashes on start; the operator rolls it back:")
	back, hold, err := s.updater.Rollback(ctx, "acme", plugin, v110, "operator@example.com", "v1.2.0 crashes on start")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "rollback %d %s: acme runs %s again; hold %d keeps %s (%s) from being offered again\n",
		back.ID, back.Status, back.ToVersion, hold.ID, short(hold.SHA), hold.Version)

	if _, err := s.sweep(ctx); err != nil {
		return err
	}

	good, err := s.up.commit(ctx, "hello 1.2.1", map[string]string{"plugin.json": `{"name":"hello","version":"1.2.1"}` + "\n"})
	if err != nil {
		return err
	}
	if err := s.up.tag(ctx, "v1.2.1", good, false); err != nil {
		return err
	}
	fmt.Fprintf(out, "v1.2.1 = %s (the fix)\n", short(good))
	if _, err := s.sweep(ctx); err != nil {
		return err
	}
	fmt.Fprintln(out, "\nglobex's alarm waits for a human, v1.2.0 stays held for acme, and v1.2.1 is offered.")
	return nil
}
