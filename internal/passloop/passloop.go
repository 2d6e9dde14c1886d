// Package passloop runs a background pass every interval and whenever a
// caller kicks it: the shape of ordo's starters, which look for recorded
// work without a workflow (contracts, leads, tickets, renewals) and start
// it, so nothing recorded is lost when a start fails.
package passloop

import (
	"context"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// Loop is a kickable periodic loop. The zero value is ready to use.
type Loop struct {
	once sync.Once
	kick chan struct{}
}

func (l *Loop) init() {
	l.once.Do(func() { l.kick = make(chan struct{}, 1) })
}

// Kick requests a pass now. Kicks that arrive while a pass runs merge
// into one more pass after it.
func (l *Loop) Kick() {
	l.init()
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// Run calls pass at once, then every interval and on Kick, until ctx
// ends. A failing pass is logged as a warning with what when its error
// changes, and at debug level while the same error repeats, so an outage
// does not flood the log every interval.
func (l *Loop) Run(ctx context.Context, interval time.Duration, logger logrus.FieldLogger, what string, pass func(context.Context) error) {
	l.init()
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	lastErr := ""
	for {
		err := pass(ctx)
		switch {
		case err == nil:
			lastErr = ""
		case ctx.Err() != nil:
		case err.Error() != lastErr:
			lastErr = err.Error()
			logger.WithError(err).Warn(what + " failed; retrying every " + interval.String())
		default:
			logger.WithError(err).Debug(what + " failed again")
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-l.kick:
		}
	}
}
