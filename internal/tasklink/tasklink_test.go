package tasklink

import (
	"net/url"
	"strings"
	"testing"
)

var secret = []byte("test-link-secret")

func TestVerify(t *testing.T) {
	sig := Sign(secret, 42, "lead-SLA-7/reminder")
	cases := []struct {
		name   string
		secret []byte
		id     int64
		key    string
		sig    string
		valid  bool
	}{
		{"own signature", secret, 42, "lead-SLA-7/reminder", sig, true},
		{"other task id", secret, 43, "lead-SLA-7/reminder", sig, false},
		{"other task key", secret, 42, "lead-SLA-8/reminder", sig, false},
		{"other secret", []byte("another-secret"), 42, "lead-SLA-7/reminder", sig, false},
		{"empty secret", nil, 42, "lead-SLA-7/reminder", Sign(nil, 42, "lead-SLA-7/reminder"), false},
		{"missing signature", secret, 42, "lead-SLA-7/reminder", "", false},
		{"one character changed", secret, 42, "lead-SLA-7/reminder", flipFirst(sig), false},
		{"truncated", secret, 42, "lead-SLA-7/reminder", sig[:len(sig)-1], false},
		{"padded", secret, 42, "lead-SLA-7/reminder", sig + "=", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Verify(tc.secret, tc.id, tc.key, tc.sig); got != tc.valid {
				t.Errorf("Verify(task %d, key %q, sig %q) = %v, expected %v", tc.id, tc.key, tc.sig, got, tc.valid)
			}
		})
	}
}

// TestSignSeparatesIDAndKey checks that moving digits between the id and
// the key changes the signature.
func TestSignSeparatesIDAndKey(t *testing.T) {
	if Sign(secret, 12, "3x") == Sign(secret, 1, "23x") {
		t.Error("task 12 with key 3x and task 1 with key 23x have the same signature")
	}
}

func TestSignIsURLSafe(t *testing.T) {
	for id := int64(1); id <= 200; id++ {
		sig := Sign(secret, id, "k")
		if len(sig) != 22 {
			t.Fatalf("signature of task %d is %q, %d characters; expected 22", id, sig, len(sig))
		}
		if url.QueryEscape(sig) != sig {
			t.Fatalf("signature of task %d is %q, which a query string must escape", id, sig)
		}
	}
}

func TestURL(t *testing.T) {
	link := URL("https://ordo.example.com/", secret, 42, "k")
	parsed, err := url.Parse(link)
	if err != nil {
		t.Fatalf("parse %q: %v", link, err)
	}
	if !strings.HasPrefix(link, "https://ordo.example.com/t/42?sig=") {
		t.Errorf("link = %q, expected https://ordo.example.com/t/42?sig=...", link)
	}
	if !Verify(secret, 42, "k", parsed.Query().Get("sig")) {
		t.Errorf("the signature of link %q does not verify", link)
	}
}

func flipFirst(sig string) string {
	replacement := "A"
	if sig[0] == 'A' {
		replacement = "B"
	}
	return replacement + sig[1:]
}
