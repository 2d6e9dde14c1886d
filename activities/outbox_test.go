package activities

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/notify"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/store/storetest"
)

// pacedChannel is a paced channel that lets a person receive one message
// per gap, records what it sent, and fails the first attempts of the keys
// in failFirst.
type pacedChannel struct {
	gap time.Duration

	mu        sync.Mutex
	last      map[string]time.Time
	sent      []notify.Message
	failFirst map[string]bool
	permanent map[string]bool
}

func (c *pacedChannel) Name() string { return "paced" }
func (c *pacedChannel) Paced() bool  { return true }

func (c *pacedChannel) Send(ctx context.Context, msg notify.Message) (notify.Receipt, error) {
	c.mu.Lock()
	if c.permanent[msg.Key] {
		c.mu.Unlock()
		return notify.Receipt{}, notify.Permanent("paced", 0, errors.New("no such user"))
	}
	if c.failFirst[msg.Key] {
		delete(c.failFirst, msg.Key)
		c.mu.Unlock()
		return notify.Receipt{}, errors.New("server busy")
	}
	wait := time.Until(c.last[msg.Recipient].Add(c.gap))
	c.mu.Unlock()
	if wait > 0 {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return notify.Receipt{}, ctx.Err()
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last[msg.Recipient] = time.Now()
	c.sent = append(c.sent, msg)
	return notify.Receipt{MessageID: "m-" + msg.Key}, nil
}

func (c *pacedChannel) sentKeys() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]string, 0, len(c.sent))
	for _, m := range c.sent {
		keys = append(keys, m.Key)
	}
	return keys
}

func newPacedFixture(t *testing.T, st *store.Store, channel *pacedChannel) *taskFixture {
	t.Helper()
	f := newTaskFixture(t, st)
	if err := f.acts.Channels.Add(channel); err != nil {
		t.Fatalf("register the paced channel: %v", err)
	}
	return f
}

// TestOutboxSendsPacedNotificationsOnceInOrder opens tasks for two people
// through a paced channel: the activity returns at once, and two outboxes
// running side by side, as two ordo processes would, send every
// notification exactly once, each person's in the order recorded.
func TestOutboxSendsPacedNotificationsOnceInOrder(t *testing.T) {
	for _, driver := range storetest.Drivers() {
		t.Run(driver, func(t *testing.T) {
			channel := &pacedChannel{gap: 20 * time.Millisecond, last: map[string]time.Time{},
				failFirst: map[string]bool{}, permanent: map[string]bool{}}
			f := newPacedFixture(t, storetest.Open(t, driver), channel)
			const perPerson = 12
			people := []string{"张伟", "李娜"}
			var want []string
			started := time.Now()
			for i := range perPerson {
				for _, person := range people {
					request := leadReminder(fmt.Sprintf("outbox-%s-%02d", person, i))
					request.Assignee = person
					request.Channels = []string{"paced"}
					if _, err := f.open(t, request); err != nil {
						t.Fatalf("open task %s: %v", request.Key, err)
					}
					want = append(want, store.NotificationKey(request.Key, "paced"))
				}
			}
			if took := time.Since(started); took > 5*time.Second {
				t.Errorf("opening %d tasks took %s: the activity waited for the paced channel", len(want), took)
			}
			if sent := channel.sentKeys(); len(sent) != 0 {
				t.Fatalf("the activity sent %d messages itself, expected the outbox to send them", len(sent))
			}

			runOutboxes(t, f.acts, 2, func() bool { return len(channel.sentKeys()) >= len(want) })

			sent := channel.sentKeys()
			if len(sent) != len(want) {
				t.Fatalf("sent %d messages, expected %d", len(sent), len(want))
			}
			seen := map[string]bool{}
			last := map[string]string{}
			for _, m := range channel.sent {
				if seen[m.Key] {
					t.Errorf("message %s sent twice", m.Key)
				}
				seen[m.Key] = true
				if m.Key < last[m.Recipient] {
					t.Errorf("%s received %s after %s", m.Recipient, m.Key, last[m.Recipient])
				}
				last[m.Recipient] = m.Key
				if m.Title == "" || m.Link == "" {
					t.Errorf("message %s has title %q and link %q, expected the task's", m.Key, m.Title, m.Link)
				}
			}
			checkNotificationStates(t, f.store, want, store.NotificationSent)
		})
	}
}

// TestOutboxRetriesAndGivesUp checks that a failed send is retried after
// a delay and that a permanent failure is recorded and not retried.
func TestOutboxRetriesAndGivesUp(t *testing.T) {
	channel := &pacedChannel{last: map[string]time.Time{}, failFirst: map[string]bool{}, permanent: map[string]bool{}}
	f := newPacedFixture(t, storetest.Open(t, "sqlite"), channel)
	retried := leadReminder("outbox-retried")
	retried.Channels = []string{"paced"}
	rejected := leadReminder("outbox-rejected")
	rejected.Channels = []string{"paced"}
	retriedKey, rejectedKey := store.NotificationKey(retried.Key, "paced"), store.NotificationKey(rejected.Key, "paced")
	channel.failFirst[retriedKey] = true
	channel.permanent[rejectedKey] = true
	for _, request := range []TaskRequest{retried, rejected} {
		if _, err := f.open(t, request); err != nil {
			t.Fatalf("open task %s: %v", request.Key, err)
		}
	}
	runOutboxes(t, f.acts, 1, func() bool { return len(channel.sentKeys()) >= 1 })

	checkNotificationStates(t, f.store, []string{retriedKey}, store.NotificationSent)
	checkNotificationStates(t, f.store, []string{rejectedKey}, store.NotificationFailed)
	var n store.Notification
	if err := f.store.DB.NewSelect().Model(&n).Where("? = ?", bun.Ident("key"), retriedKey).Scan(context.Background()); err != nil {
		t.Fatalf("read notification %s: %v", retriedKey, err)
	}
	if n.Attempts != 2 || n.LastError != "server busy" {
		t.Errorf("notification %s: attempts %d, last error %q; expected 2 and the first failure", retriedKey, n.Attempts, n.LastError)
	}
}

// runOutboxes runs n outboxes over the activities until done reports true
// or 60 seconds pass, then stops them.
func runOutboxes(t *testing.T, acts *TaskActivities, n int, done func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range n {
		outbox := &Outbox{Tasks: acts, Workers: 4, Batch: 5}
		wg.Add(1)
		go func() { defer wg.Done(); outbox.Run(ctx, 200*time.Millisecond) }()
	}
	deadline := time.Now().Add(time.Minute)
	for !done() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	if !done() {
		t.Fatalf("the outbox did not finish within a minute")
	}
}

func checkNotificationStates(t *testing.T, st *store.Store, keys []string, want string) {
	t.Helper()
	var rows []store.Notification
	if err := st.DB.NewSelect().Model(&rows).Where("? IN (?)", bun.Ident("key"), bun.In(keys)).Scan(context.Background()); err != nil {
		t.Fatalf("read notifications: %v", err)
	}
	if len(rows) != len(keys) {
		t.Fatalf("found %d notifications, expected %d", len(rows), len(keys))
	}
	for _, n := range rows {
		if n.State != want {
			t.Errorf("notification %s is %s (%s), expected %s", n.Key, n.State, n.LastError, want)
		}
	}
}
