package memstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/plugindrift/plugindrift/storage"
	"github.com/plugindrift/plugindrift/tracking"
)

// outbox holds the events and their delivery state. It lives under the
// Store's mutex, so an event is written atomically with its change and IDs
// are visible in order.
type outbox struct {
	events []tracking.Event // ascending ID; pruning removes a prefix-free subset
	nextID int64
	subs   map[string]*storage.Subscription
	dead   map[string]map[int64]*storage.DeadEvent // subscriber → event ID
}

func newOutbox() outbox {
	return outbox{subs: map[string]*storage.Subscription{}, dead: map[string]map[int64]*storage.DeadEvent{}}
}

func (o *outbox) add(evs ...tracking.Event) {
	for _, ev := range evs {
		o.nextID++
		ev.ID = o.nextID
		ev.At = ts(ev.At)
		o.events = append(o.events, ev)
	}
}

// healthEvent writes the health event of up's failure count moving from
// before to its current value, if any.
func (s *Store) healthEvent(up *tracking.Upstream, before int, at time.Time) {
	if t, ok := tracking.UpstreamHealthEvent(before, up.ConsecutiveFailures); ok {
		s.outbox.add(tracking.UpstreamEvent(t, *up, at))
	}
}

func (o *outbox) event(id int64) (tracking.Event, bool) {
	i, ok := slices.BinarySearchFunc(o.events, id, func(ev tracking.Event, id int64) int { return int(ev.ID - id) })
	if !ok {
		return tracking.Event{}, false
	}
	return o.events[i], true
}

// ListEvents implements storage.Store.
func (s *Store) ListEvents(ctx context.Context, p storage.ListEventsParams) ([]tracking.Event, error) {
	unlock, err := s.lockValid(ctx, p)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var out []tracking.Event
	for _, ev := range s.outbox.events {
		if ev.ID > p.AfterID {
			out = append(out, ev)
			if len(out) == p.Limit {
				break
			}
		}
	}
	return out, nil
}

// EnsureSubscription implements storage.Store.
func (s *Store) EnsureSubscription(ctx context.Context, name string) (storage.Subscription, error) {
	if err := storage.ValidateSubscriberName(name); err != nil {
		return storage.Subscription{}, err
	}
	if err := ctx.Err(); err != nil {
		return storage.Subscription{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := s.outbox.subs[name]
	if sub == nil {
		sub = &storage.Subscription{Name: name}
		s.outbox.subs[name] = sub
	}
	return *sub, nil
}

// ListSubscriptions implements storage.Store.
func (s *Store) ListSubscriptions(ctx context.Context) ([]storage.Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []storage.Subscription
	for _, sub := range s.outbox.subs {
		c := *sub
		for _, ev := range s.outbox.events {
			if ev.ID > sub.AfterID {
				c.Pending++
			}
		}
		c.Dead = len(s.outbox.dead[sub.Name])
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b storage.Subscription) int {
		if a.Name < b.Name {
			return -1
		}
		return 1
	})
	return out, nil
}

// RecordDelivery implements storage.Store.
func (s *Store) RecordDelivery(ctx context.Context, p storage.RecordDeliveryParams) (storage.Subscription, error) {
	unlock, err := s.lockValid(ctx, p)
	if err != nil {
		return storage.Subscription{}, err
	}
	defer unlock()
	sub := s.outbox.subs[p.Subscriber]
	if sub == nil {
		return storage.Subscription{}, fmt.Errorf("memstore: subscriber %s: %w", p.Subscriber, tracking.ErrNotFound)
	}
	at := ts(p.At)
	if p.EventID <= sub.AfterID {
		d := s.outbox.dead[p.Subscriber][p.EventID]
		if d == nil || !d.Retrying {
			return *sub, nil // a stale outcome: the cursor is past it
		}
		if p.Outcome == storage.Delivered {
			delete(s.outbox.dead[p.Subscriber], p.EventID)
		} else {
			d.Attempts++
			d.LastError, d.DeadAt, d.Retrying = p.Message, at, false
		}
		return *sub, nil
	}
	switch p.Outcome {
	case storage.Delivered:
		sub.AfterID = p.EventID
		sub.Attempts, sub.LastError, sub.RetryAt = 0, "", time.Time{}
	case storage.Failed:
		sub.Attempts++
		sub.LastError, sub.RetryAt = p.Message, ts(p.RetryAt)
	case storage.Dead:
		ev, ok := s.outbox.event(p.EventID)
		if !ok {
			return *sub, fmt.Errorf("memstore: event %d: %w", p.EventID, tracking.ErrNotFound)
		}
		if s.outbox.dead[p.Subscriber] == nil {
			s.outbox.dead[p.Subscriber] = map[int64]*storage.DeadEvent{}
		}
		s.outbox.dead[p.Subscriber][p.EventID] = &storage.DeadEvent{
			Subscriber: p.Subscriber, Event: ev, Attempts: sub.Attempts + 1, LastError: p.Message, DeadAt: at,
		}
		sub.AfterID = p.EventID
		sub.Attempts, sub.LastError, sub.RetryAt = 0, "", time.Time{}
	}
	return *sub, nil
}

// ListDeadEvents implements storage.Store.
func (s *Store) ListDeadEvents(ctx context.Context, p storage.ListDeadEventsParams) ([]storage.DeadEvent, error) {
	unlock, err := s.lockValid(ctx, p)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var out []storage.DeadEvent
	for id, d := range s.outbox.dead[p.Subscriber] {
		if id > p.AfterID && (!p.Retrying || d.Retrying) {
			out = append(out, *d)
		}
	}
	slices.SortFunc(out, func(a, b storage.DeadEvent) int { return int(a.Event.ID - b.Event.ID) })
	return out[:min(len(out), p.Limit)], nil
}

// RetryDeadEvent implements storage.Store.
func (s *Store) RetryDeadEvent(ctx context.Context, subscriber string, eventID int64) (storage.DeadEvent, error) {
	if err := ctx.Err(); err != nil {
		return storage.DeadEvent{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.outbox.dead[subscriber][eventID]
	if d == nil {
		return storage.DeadEvent{}, fmt.Errorf("memstore: event %d is not dead for subscriber %s: %w", eventID, subscriber, tracking.ErrNotFound)
	}
	d.Retrying = true
	return *d, nil
}

// PruneEvents implements storage.Store.
func (s *Store) PruneEvents(ctx context.Context, p storage.PruneEventsParams) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	before := ts(p.Before)
	kept := s.outbox.events[:0]
	n := 0
	for _, ev := range s.outbox.events {
		if ev.At.Before(before) && s.outbox.delivered(ev.ID) {
			n++
			continue
		}
		kept = append(kept, ev)
	}
	clear(s.outbox.events[len(kept):])
	s.outbox.events = kept
	return n, nil
}

// delivered reports whether every subscriber is past event id and none
// holds it dead.
func (o *outbox) delivered(id int64) bool {
	for name, sub := range o.subs {
		if sub.AfterID < id || o.dead[name][id] != nil {
			return false
		}
	}
	return true
}
