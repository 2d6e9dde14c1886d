package simulators

import "sync"

// Queue is a first-in, first-out list that is safe for concurrent use.
// Simulators keep in it the faults and error codes that tests arm for the
// next requests. The zero value is an empty queue.
type Queue[T any] struct {
	mu    sync.Mutex
	items []T
}

// Push appends items to the end of the queue.
func (q *Queue[T]) Push(items ...T) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.items = append(q.items, items...)
}

// Pop removes and returns the oldest item. It returns false when the
// queue is empty.
func (q *Queue[T]) Pop() (T, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var item T
	if len(q.items) == 0 {
		return item, false
	}
	item = q.items[0]
	q.items = q.items[1:]
	return item, true
}

// IDSet is a set of ids that is safe for concurrent use, such as the
// recipients a simulator treats as nonexistent. The zero value is empty.
type IDSet struct {
	mu  sync.Mutex
	ids map[string]bool
}

// Replace makes ids the members of the set.
func (s *IDSet) Replace(ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids = map[string]bool{}
	for _, id := range ids {
		s.ids[id] = true
	}
}

// Contains reports whether id is a member.
func (s *IDSet) Contains(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ids[id]
}
