package storage

import (
	"fmt"
	"regexp"
	"time"

	"github.com/plugindrift/plugindrift/internal/redact"
	"github.com/plugindrift/plugindrift/tracking"
)

// ListEventsParams pages through the events outbox.
type ListEventsParams struct {
	// AfterID is the cursor: events with a larger ID (0: from the start).
	AfterID int64
	// Limit caps the result. Must be between 1 and MaxLimit.
	Limit int
}

// Validate checks the cursor and the limit.
func (p ListEventsParams) Validate() error {
	return validatePage(p.AfterID, p.Limit)
}

// Subscription is one named subscriber's delivery state.
type Subscription struct {
	Name string
	// AfterID is the cursor: every event up to it was delivered or is
	// dead for this subscriber; the next one to deliver is the first
	// after it.
	AfterID int64
	// Attempts counts the failed deliveries of the next event, LastError
	// is the last failure's message and RetryAt is when the next attempt
	// is due (zero: now).
	Attempts  int
	LastError string
	RetryAt   time.Time
	// Pending is how many events after the cursor wait, Dead how many are
	// dead for this subscriber. Only ListSubscriptions counts them.
	Pending int
	Dead    int
}

var subscriberNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// ValidateSubscriberName checks a subscriber's name: 1 to 64 lowercase
// letters, digits, '.', '_' or '-', starting with a letter or digit (it is
// shown in the admin API and used in a lease's name). Errors wrap
// tracking.ErrInvalidArgument.
func ValidateSubscriberName(name string) error {
	if !subscriberNameRE.MatchString(name) {
		return fmt.Errorf("storage: subscriber name %s: want 1 to 64 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit (e.g. \"slack\"): %w", redact.Quote(name), tracking.ErrInvalidArgument)
	}
	return nil
}

// DeliveryOutcome is what happened when an event was delivered to a
// subscriber.
type DeliveryOutcome string

const (
	// Delivered: the subscriber took the event. The cursor moves to it
	// and its failure count is cleared; a dead event being retried stops
	// being dead.
	Delivered DeliveryOutcome = "delivered"
	// Failed: the subscriber refused or could not be reached; it will be
	// tried again. Attempts+1, LastError = Message, RetryAt = RetryAt; a
	// dead event being retried stays dead (Attempts+1, LastError) and is
	// no longer being retried.
	Failed DeliveryOutcome = "failed"
	// Dead: the deliverer gives up on the event: it becomes dead for the
	// subscriber (with Attempts+1 and Message as its last error), and the
	// cursor moves past it so later events are delivered.
	Dead DeliveryOutcome = "dead"
)

// RecordDeliveryParams reports one delivery attempt.
type RecordDeliveryParams struct {
	Subscriber string
	EventID    int64
	Outcome    DeliveryOutcome
	// Message is the failure, for Failed and Dead (redacted by the
	// caller).
	Message string
	// At is when the attempt ended; RetryAt, for Failed, when to try
	// again.
	At      time.Time
	RetryAt time.Time
}

// Validate checks the subscriber, the event ID and the outcome.
func (p RecordDeliveryParams) Validate() error {
	if err := ValidateSubscriberName(p.Subscriber); err != nil {
		return err
	}
	if p.EventID < 1 {
		return fmt.Errorf("storage: event id %d: want a positive id: %w", p.EventID, tracking.ErrInvalidArgument)
	}
	switch p.Outcome {
	case Delivered, Failed, Dead:
		return nil
	}
	return fmt.Errorf("storage: delivery outcome %s: want delivered, failed or dead: %w", redact.Quote(string(p.Outcome)), tracking.ErrInvalidArgument)
}

// DeadEvent is an event a subscriber's deliverer gave up on.
type DeadEvent struct {
	Subscriber string
	Event      tracking.Event
	// Attempts is how many deliveries failed, LastError the last
	// failure, DeadAt when it was given up (the last time, after a retry).
	Attempts  int
	LastError string
	DeadAt    time.Time
	// Retrying is set by RetryDeadEvent until the next attempt ends.
	Retrying bool
}

// ListDeadEventsParams selects one subscriber's dead events.
type ListDeadEventsParams struct {
	Subscriber string
	// Retrying keeps only those an operator asked to retry.
	Retrying bool
	// AfterID is the cursor over event IDs (0: from the start).
	AfterID int64
	// Limit caps the result. Must be between 1 and MaxLimit.
	Limit int
}

// Validate checks the subscriber, the cursor and the limit.
func (p ListDeadEventsParams) Validate() error {
	if err := ValidateSubscriberName(p.Subscriber); err != nil {
		return err
	}
	return validatePage(p.AfterID, p.Limit)
}

// PruneEventsParams selects the events to delete.
type PruneEventsParams struct {
	// Before: only events with At before it are deleted.
	Before time.Time
}
