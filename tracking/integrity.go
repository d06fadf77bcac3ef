package tracking

// KindHistoryRewritten: a followed branch (or head) moved to a commit that
// does not descend from the installed one, so it was force-pushed and
// what is installed is no longer in its history. Like [KindTagMoved] it is
// an integrity alarm and is never applied automatically.
const KindHistoryRewritten UpdateKind = "history-rewritten"

// Alarm reports whether the kind is an integrity alarm (tag-moved,
// history-rewritten): shown as dangerous, never applied automatically.
// This is the one place that list lives.
func (k UpdateKind) Alarm() bool { return k == KindTagMoved || k == KindHistoryRewritten }

// Rewritable reports whether a movement of this ref can rewrite history
// under an install: a branch or head, whose new tip may not descend from
// the installed commit. Tags are judged by tag-moved instead.
func (r Ref) Rewritable() bool { return r.kind == RefBranch || r.kind == RefHead }
