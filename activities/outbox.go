package activities

import (
	"context"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/ordo-project/ordo/internal/passloop"
	"github.com/ordo-project/ordo/internal/store"
)

// Outbox sends the notifications of paced channels (see notify.Paced)
// that the task activities record. Each recipient's notifications go out
// one at a time in the order they were recorded, at the pace the channel
// allows, and different recipients are served in parallel. A claim on
// each row keeps two ordo processes from sending it at once. After a
// crash the row stays pending, and the next claim after the lease sends
// it again with the same key, so the channel can drop the copy (WeCom's
// duplicate check, for example).
type Outbox struct {
	Tasks *TaskActivities
	// Workers is the maximum number of recipients served at once, default 16.
	Workers int
	// Batch is the number of one recipient's notifications a claim takes,
	// default 10.
	Batch int
	// Lease is the duration of a claim, default 5 minutes. It must cover
	// sending a batch at the channel's pace.
	Lease time.Duration

	loop  passloop.Loop
	once  sync.Once
	slots chan struct{}
	mu    sync.Mutex
	busy  map[store.ChannelRecipient]bool
	wg    sync.WaitGroup
}

// Kick requests a pass now.
func (o *Outbox) Kick() { o.loop.Kick() }

func (o *Outbox) init() {
	o.once.Do(func() {
		if o.Workers <= 0 {
			o.Workers = 16
		}
		if o.Batch <= 0 {
			o.Batch = 10
		}
		if o.Lease <= 0 {
			o.Lease = 5 * time.Minute
		}
		o.slots = make(chan struct{}, o.Workers)
		o.busy = map[store.ChannelRecipient]bool{}
	})
}

// Run passes over the outbox every interval and on Kick until ctx ends,
// then waits for the sends in flight to stop.
func (o *Outbox) Run(ctx context.Context, interval time.Duration) {
	o.init()
	o.loop.Run(ctx, interval, o.Tasks.Logger, "notification outbox pass", o.pass)
	o.wg.Wait()
}

// pass starts serving every recipient with notifications waiting that is
// not being served already.
func (o *Outbox) pass(ctx context.Context) error {
	channels := o.Tasks.Channels.PacedNames()
	if len(channels) == 0 {
		return nil
	}
	recipients, err := o.Tasks.Store.PendingRecipients(ctx, channels, 4*o.Workers)
	if err != nil {
		return err
	}
	for _, r := range recipients {
		r.FirstID = 0 // the map key is the channel and the recipient
		o.mu.Lock()
		if o.busy[r] {
			o.mu.Unlock()
			continue
		}
		o.busy[r] = true
		o.mu.Unlock()
		o.wg.Add(1)
		go o.serve(ctx, r)
	}
	return nil
}

// serve sends one claimed batch of the recipient's notifications, then
// kicks the loop so the rest follow.
func (o *Outbox) serve(ctx context.Context, r store.ChannelRecipient) {
	defer o.wg.Done()
	defer func() {
		o.mu.Lock()
		delete(o.busy, r)
		o.mu.Unlock()
		o.Kick()
	}()
	select {
	case o.slots <- struct{}{}:
		defer func() { <-o.slots }()
	case <-ctx.Done():
		return
	}
	log := o.Tasks.Logger.WithFields(logrus.Fields{keyChannel: r.Channel, "recipient": r.Recipient})
	items, err := o.Tasks.Store.ClaimNotifications(ctx, r, o.Batch, o.Lease)
	if err != nil {
		if ctx.Err() == nil {
			log.WithError(err).Warn("claiming notifications from the outbox failed, the next pass tries again")
		}
		return
	}
	channel, ok := o.Tasks.Channels.Get(r.Channel)
	for i := range items {
		n, task := &items[i].Notification, &items[i].Task
		itemLog := log.WithFields(logrus.Fields{"notification_id": n.ID, keyTaskKey: task.Key})
		if !ok || ctx.Err() != nil {
			// The channel left the configuration, or ordo is stopping, so
			// the next pass takes the rest.
			o.release(itemLog, items[i:])
			return
		}
		if err := o.Tasks.deliver(ctx, itemLog, channel, taskMessage(n, task, nil), n, time.Now().Add(retryDelay(n.Attempts))); err != nil {
			o.release(itemLog, items[i+1:])
			return
		}
	}
}

// release ends the claims on items the serve did not try.
func (o *Outbox) release(log logrus.FieldLogger, items []store.OutboxItem) {
	ctx, cancel := context.WithTimeout(context.Background(), markTimeout)
	defer cancel()
	for _, item := range items {
		if err := store.ReleaseNotification(ctx, o.Tasks.Store.DB, item.ID); err != nil {
			log.WithError(err).Warn("releasing a claimed notification failed, it waits for the end of its lease")
		}
	}
}

// retryDelay returns the wait after a notification's attempts-th failure,
// 2 s doubling up to 5 minutes.
func retryDelay(attempts int) time.Duration {
	delay := 2 * time.Second
	for range attempts {
		delay *= 2
		if delay >= 5*time.Minute {
			return 5 * time.Minute
		}
	}
	return delay
}
