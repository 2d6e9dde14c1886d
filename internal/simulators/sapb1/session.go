package sapb1

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"sync"
	"time"
)

// Cookies the Service Layer sets at login. B1SESSION identifies the
// session; ROUTEID pins the client to one node behind the load balancer.
const (
	CookieSession = "B1SESSION"
	CookieRoute   = "ROUTEID"
)

// session is a logged-in caller. Sessions live in memory only, so a
// restarted simulator loses them as a restarted Service Layer does.
type session struct {
	id       string
	lastSeen time.Time
}

type sessionStore struct {
	mu      sync.Mutex
	timeout time.Duration
	byID    map[string]*session
}

func newSessionStore(timeout time.Duration) *sessionStore {
	return &sessionStore{timeout: timeout, byID: map[string]*session{}}
}

func (st *sessionStore) create(now time.Time) *session {
	buf := make([]byte, 16)
	_, _ = rand.Read(buf)
	s := &session{id: hex.EncodeToString(buf), lastSeen: now}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.byID[s.id] = s
	return s
}

// touch returns the request's live session and extends it, or nil.
func (st *sessionStore) touch(r *http.Request, now time.Time) *session {
	c, err := r.Cookie(CookieSession)
	if err != nil {
		return nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.byID[c.Value]
	if !ok {
		return nil
	}
	if now.Sub(s.lastSeen) > st.timeout {
		delete(st.byID, s.id)
		return nil
	}
	s.lastSeen = now
	return s
}

// drop ends the request's session, if any.
func (st *sessionStore) drop(r *http.Request) {
	c, err := r.Cookie(CookieSession)
	if err != nil {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.byID, c.Value)
}

func (st *sessionStore) dropAll() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	n := len(st.byID)
	st.byID = map[string]*session{}
	return n
}

func (st *sessionStore) count() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.byID)
}
