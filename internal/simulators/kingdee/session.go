package kingdee

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"sync"
	"time"
)

// Session cookies Kingdee sets at login. A call is accepted with either.
const (
	cookieSession   = "kdservice-sessionid"
	cookieASPNET    = "ASP.NET_SessionId"
	sessionIDLength = 16 // random bytes, hex-encoded
)

// session is a logged-in caller. Sessions live in memory only, so a
// restarted simulator loses them the way a recycled Kingdee application
// pool does, and clients must log in again.
type session struct {
	id       string
	aspnetID string
	user     string
	lastSeen time.Time
}

// sessionStore keeps sessions that expire after an idle time.
type sessionStore struct {
	mu   sync.Mutex
	idle time.Duration
	// byCookie indexes each session under both of its cookie values.
	byCookie map[string]*session
}

func newSessionStore(idle time.Duration) *sessionStore {
	return &sessionStore{idle: idle, byCookie: map[string]*session{}}
}

func randomID() string {
	buf := make([]byte, sessionIDLength)
	// crypto/rand.Read never returns an error since Go 1.24.
	_, _ = rand.Read(buf)
	return hex.EncodeToString(buf)
}

// create starts a session for user.
func (st *sessionStore) create(user string, now time.Time) *session {
	s := &session{id: randomID(), aspnetID: randomID(), user: user, lastSeen: now}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.byCookie[s.id] = s
	st.byCookie[s.aspnetID] = s
	return s
}

// cookieValues returns the session cookie values a request carries.
func cookieValues(r *http.Request) []string {
	var values []string
	for _, name := range []string{cookieSession, cookieASPNET} {
		if c, err := r.Cookie(name); err == nil && c.Value != "" {
			values = append(values, c.Value)
		}
	}
	return values
}

// touch reports whether the request carries a live session and, if so,
// restarts its idle timer.
func (st *sessionStore) touch(r *http.Request, now time.Time) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, value := range cookieValues(r) {
		s, ok := st.byCookie[value]
		if !ok {
			continue
		}
		if now.Sub(s.lastSeen) > st.idle {
			st.removeLocked(s)
			return false
		}
		s.lastSeen = now
		return true
	}
	return false
}

// drop ends the session the request carries, if any.
func (st *sessionStore) drop(r *http.Request) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, value := range cookieValues(r) {
		if s, ok := st.byCookie[value]; ok {
			st.removeLocked(s)
		}
	}
}

// dropAll ends every session and returns how many there were.
func (st *sessionStore) dropAll() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	n := len(st.byCookie) / 2
	st.byCookie = map[string]*session{}
	return n
}

// prune removes sessions idle for longer than the idle time.
func (st *sessionStore) prune(now time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, s := range st.byCookie {
		if now.Sub(s.lastSeen) > st.idle {
			st.removeLocked(s)
		}
	}
}

func (st *sessionStore) count() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.byCookie) / 2
}

func (st *sessionStore) removeLocked(s *session) {
	delete(st.byCookie, s.id)
	delete(st.byCookie, s.aspnetID)
}
