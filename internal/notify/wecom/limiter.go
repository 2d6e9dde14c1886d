package wecom

import (
	"context"
	"sync"
	"time"
)

// limiter queues the messages to each member so that no member receives
// more than a rate's Limit messages in any Window. Messages to one member
// go out one at a time, in the order their senders arrived.
type limiter struct {
	rates []Rate
	clock Clock

	mu      sync.Mutex
	members map[string]*memberQueue
}

type memberQueue struct {
	// turn has room for one holder, and the holder sends next.
	turn chan struct{}
	// sent holds the completion times of the latest messages, at most the
	// largest Limit of the rates.
	sent []time.Time
}

func newLimiter(rates []Rate, clock Clock) *limiter {
	return &limiter{rates: rates, clock: clock, members: map[string]*memberQueue{}}
}

func (l *limiter) queue(member string) *memberQueue {
	l.mu.Lock()
	defer l.mu.Unlock()
	q, ok := l.members[member]
	if !ok {
		q = &memberQueue{turn: make(chan struct{}, 1)}
		l.members[member] = q
	}
	return q
}

// acquire waits until every member in the sorted list members may receive
// one more message, and returns the function that records the message as
// sent. Call it after the reply arrived: the limits count from then, which
// is no earlier than WeCom's receipt, so client and server agree on the
// interval even when requests take different times.
func (l *limiter) acquire(ctx context.Context, members []string) (func(), error) {
	var held []*memberQueue
	releaseAll := func() {
		now := l.clock.Now()
		for _, q := range held {
			q.record(now, l.maxLimit())
			<-q.turn
		}
	}
	unlock := func() {
		for _, q := range held {
			<-q.turn
		}
	}
	// Members are taken in sorted order, so two multi-member sends cannot
	// wait for each other.
	for _, member := range members {
		q := l.queue(member)
		select {
		case q.turn <- struct{}{}:
			held = append(held, q)
		case <-ctx.Done():
			unlock()
			return nil, ctx.Err()
		}
	}
	for _, q := range held {
		for {
			wait := l.wait(q)
			if wait <= 0 {
				break
			}
			if err := l.clock.Sleep(ctx, wait); err != nil {
				unlock()
				return nil, err
			}
		}
	}
	return releaseAll, nil
}

// wait returns how long q must wait before its next message.
func (l *limiter) wait(q *memberQueue) time.Duration {
	now := l.clock.Now()
	var wait time.Duration
	for _, rate := range l.rates {
		if len(q.sent) < rate.Limit {
			continue
		}
		oldest := q.sent[len(q.sent)-rate.Limit]
		wait = max(wait, oldest.Add(rate.Window).Sub(now))
	}
	return wait
}

func (l *limiter) maxLimit() int {
	limit := 0
	for _, rate := range l.rates {
		limit = max(limit, rate.Limit)
	}
	return limit
}

func (q *memberQueue) record(at time.Time, keep int) {
	q.sent = append(q.sent, at)
	if len(q.sent) > keep {
		q.sent = append(q.sent[:0], q.sent[len(q.sent)-keep:]...)
	}
}
