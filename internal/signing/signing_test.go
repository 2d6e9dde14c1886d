package signing

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestVerify(t *testing.T) {
	secret := []byte("s3cret")
	body := []byte(`{"event_id":"e1"}`)
	now := time.Unix(1_800_000_000, 0)

	signed := http.Header{}
	SetHeaders(signed, secret, now, body)

	cases := []struct {
		name    string
		header  http.Header
		body    []byte
		now     time.Time
		wantErr error
	}{
		{"valid", signed, body, now, nil},
		{"valid within window", signed, body, now.Add(4 * time.Minute), nil},
		{"stale", signed, body, now.Add(6 * time.Minute), ErrStale},
		{"from the future", signed, body, now.Add(-6 * time.Minute), ErrStale},
		{"body changed", signed, []byte(`{"event_id":"e2"}`), now, ErrBadSignature},
		{"missing headers", http.Header{}, body, now, ErrMissingSignature},
		{"timestamp not a number", http.Header{HeaderTimestamp: {"yesterday"}, HeaderSignature: {"sha256=00"}}, body, now, ErrBadTimestamp},
		{"timestamp changed", http.Header{
			HeaderTimestamp: {strconv.FormatInt(now.Unix()+1, 10)},
			HeaderSignature: {signed.Get(HeaderSignature)},
		}, body, now, ErrBadSignature},
		{"wrong secret", func() http.Header { h := http.Header{}; SetHeaders(h, []byte("other"), now, body); return h }(), body, now, ErrBadSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(tc.header, secret, tc.body, tc.now, 5*time.Minute)
			if tc.wantErr == nil && err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("Verify error = %v, want %v", err, tc.wantErr)
			}
		})
	}
}
