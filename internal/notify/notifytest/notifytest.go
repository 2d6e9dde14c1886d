// Package notifytest contains the fixtures that the tests of ordo's chat
// channels share. Only tests import it.
package notifytest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordo-project/ordo/internal/notify"
)

// Message returns a renewal reminder of key to recipient, with a link to
// the task and a due time.
func Message(key, recipient string) notify.Message {
	due := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	return notify.Message{
		Key: key, Recipient: recipient, Title: "续约提醒", Body: "合同 C-1 即将到期",
		Link: "http://127.0.0.1:8080/api/v1/tasks/1", Due: &due,
	}
}

// SendWithRetries sends like the notification activity: a retryable
// failure is tried again, up to attempts in all, and a permanent one ends
// the attempts. It fails the test if an error contains secret.
func SendWithRetries(t testing.TB, channel notify.Channel, msg notify.Message, attempts int, secret string) error {
	t.Helper()
	var err error
	for range attempts {
		_, err = channel.Send(context.Background(), msg)
		if err == nil || notify.IsPermanent(err) {
			return err
		}
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("error reveals the app secret: %v", err)
		}
	}
	return err
}

// SendConcurrently sends message(i) for i from 0 to n-1, all at once, and
// fails the test if a send fails.
func SendConcurrently(t testing.TB, channel notify.Channel, n int, message func(i int) notify.Message) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := channel.Send(context.Background(), message(i))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("send: %v", err)
		}
	}
}
