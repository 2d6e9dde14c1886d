package simulators

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"
)

// WriteJSON writes v as a JSON reply with status 200.
func WriteJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

// LoseReply drops the connection without a reply, for FaultLostReply and
// FaultTimeout.
func LoseReply(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// RandomHex returns n random hex digits (n even), for tokens and ids.
func RandomHex(n int) string {
	b := make([]byte, n/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ReplyFault waits the configured latency and then replies to a fault
// that prevents the work. It reports whether it replied. The platform
// function, when not nil, replies first to the simulator's own faults in
// its protocol's format and reports whether it did. Otherwise
// FaultServerError gets HTTP 500 and FaultThrottle HTTP 429, and
// FaultTimeout holds the request for the hang time and then drops the
// connection. The caller applies FaultLostReply after the work.
func (i *Injector) ReplyFault(w http.ResponseWriter, fault Fault, platform func(http.ResponseWriter, Fault) bool) bool {
	if latency := i.Latency(); latency > 0 {
		time.Sleep(latency)
	}
	if platform != nil && platform(w, fault) {
		return true
	}
	switch fault {
	case FaultServerError:
		http.Error(w, "injected server error", http.StatusInternalServerError)
		return true
	case FaultThrottle:
		http.Error(w, "injected throttle", http.StatusTooManyRequests)
		return true
	case FaultTimeout:
		time.Sleep(i.Hang())
		LoseReply(w)
		return true
	}
	return false
}
