// Package sms sends ordo's SMS notifications through an SMS provider's
// API: Aliyun's Dysmsapi SendSms or Tencent Cloud's SMS SendSms (API
// 3.0). Providers send only templates they approved, so the channel sends
// a provider template filled from the message's params, mapped in
// configuration, instead of ordo's rendered text.
//
// Neither provider deduplicates a repeated request, so the channel does:
// every (notification key, phone number) pair is a row of sms_sends in
// ordo's database, written before the request leaves. A retry finds the
// row and sends nothing when the SMS was sent. When an earlier attempt
// ended without a response, the channel queries the provider about it (see
// resolve) instead of sending again.
package sms

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/notify"
)

// ChannelName is the registry name of the SMS channel.
const ChannelName = notify.ChannelSMS

// Provider names.
const (
	ProviderAliyun  = "aliyun"
	ProviderTencent = "tencent"
)

// Request is one SMS to one number.
type Request struct {
	// Phone is the number in E.164 form, e.g. +8613800138000.
	Phone      string
	SignName   string
	TemplateID string
	// Params fill the template in order; Aliyun uses their names, Tencent
	// their positions.
	Params []Param
	// OutID names the send in the provider's records.
	OutID string
}

// Param is a template parameter.
type Param struct {
	Name  string
	Value string
}

// Record is the provider's record of an earlier send.
type Record struct {
	// ProviderID is the BizId or SerialNo of the SMS.
	ProviderID string
	// Failed is true when the provider reports that delivery failed;
	// Reason then holds its description.
	Failed bool
	Reason string
}

// Provider is an SMS provider's API.
type Provider interface {
	// Name returns the provider name, e.g. "aliyun".
	Name() string
	// Send requests the provider to send req and returns its id of the SMS.
	// A *RejectedError means the provider replied and did not send it.
	// Any other error leaves the outcome unknown.
	Send(ctx context.Context, req Request) (string, error)
	// Find looks for the send of req.OutID that an attempt at attemptedAt
	// made. found is false when the provider holds no record of it.
	Find(ctx context.Context, req Request, attemptedAt time.Time) (record Record, found bool, err error)
	// AbsenceProvesNotSent reports whether "not found", once the provider
	// had time to record the send, proves that it never accepted it.
	AbsenceProvesNotSent() bool
}

// RejectedError is a provider's reply that it did not send the SMS.
type RejectedError struct {
	Provider string
	// HTTPStatus is the reply's status; Code and Message the provider's
	// error code and text, e.g. isv.MOBILE_NUMBER_ILLEGAL.
	HTTPStatus int
	Code       string
	Message    string
	// Permanent is true when no retry can succeed.
	Permanent bool
}

func (e *RejectedError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("%s SMS rejected with HTTP %d: %s", e.Provider, e.HTTPStatus, e.Message)
	}
	return fmt.Sprintf("%s SMS rejected: %s: %s", e.Provider, e.Code, e.Message)
}

// Config configures the channel.
type Config struct {
	// DB is ordo's database, holding sms_sends. Required.
	DB bun.IDB
	// Provider sends the SMS. Required.
	Provider Provider
	// SignName is the approved signature (签名), shown as 【SignName】.
	SignName string
	// Templates maps ordo's template names, e.g. renewal_sms, to the
	// provider's templates.
	Templates map[string]Template
	// ResolveAfter is how long after an attempt without a response the
	// provider's records are taken as complete: a later attempt that
	// finds no record sends again (Aliyun) or records the outcome as
	// unknown (Tencent). It must exceed the HTTP timeout. Default 2
	// minutes.
	ResolveAfter time.Duration
	// Clock defaults to time.Now.
	Clock func() time.Time
	// Logger defaults to a logger that discards everything.
	Logger logrus.FieldLogger
}

// Channel sends notifications as provider-template SMS. It sends each
// notification key to a number once, unless the provider's records show
// no earlier send (see resolve).
type Channel struct {
	db           bun.IDB
	provider     Provider
	signName     string
	templates    map[string]Template
	resolveAfter time.Duration
	clock        func() time.Time
	log          logrus.FieldLogger
}

var _ notify.Channel = (*Channel)(nil)

// NewChannel validates cfg and returns the channel.
func NewChannel(cfg Config) (*Channel, error) {
	if cfg.DB == nil || cfg.Provider == nil {
		return nil, errors.New("sms: missing database or provider")
	}
	if cfg.SignName == "" {
		return nil, errors.New("sms: missing sign name: give the signature the provider approved")
	}
	for name, template := range cfg.Templates {
		if err := template.validate(); err != nil {
			return nil, fmt.Errorf("sms: template %s: %w", name, err)
		}
	}
	if cfg.ResolveAfter <= 0 {
		cfg.ResolveAfter = 2 * time.Minute
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = logging.Discard()
	}
	return &Channel{
		db: cfg.DB, provider: cfg.Provider, signName: cfg.SignName, templates: cfg.Templates,
		resolveAfter: cfg.ResolveAfter, clock: cfg.Clock,
		log: cfg.Logger.WithFields(logrus.Fields{logging.KeyComponent: "notify", "channel": ChannelName, "provider": cfg.Provider.Name()}),
	}, nil
}

// Name returns "sms".
func (c *Channel) Name() string { return ChannelName }

// Send sends msg's template to msg.Address unless an earlier call sent it.
// A number, template or params the provider can never accept, and an SMS
// whose outcome stays unknown, are permanent failures.
func (c *Channel) Send(ctx context.Context, msg notify.Message) (notify.Receipt, error) {
	req, err := c.request(msg)
	if err != nil {
		return notify.Receipt{}, notify.Permanent(ChannelName, 0, err)
	}
	send := &Send{
		Key: msg.Key, Phone: req.Phone, Provider: c.provider.Name(), OutID: req.OutID,
		Template: msg.Template, CreatedAt: c.clock(),
	}
	if err := loadOrInsert(ctx, c.db, send); err != nil {
		return notify.Receipt{}, err
	}
	log := c.log.WithFields(logrus.Fields{"notification_key": msg.Key, "phone": notify.MaskPhone(req.Phone), "out_id": send.OutID})

	switch send.State {
	case StateSent:
		return receipt(send), nil
	case StateFailed, StateUnknown:
		return notify.Receipt{}, notify.Permanent(ChannelName, 0, errors.New(send.LastError))
	case StateSending:
		resolved, err := c.resolve(ctx, log, send, req)
		if resolved || err != nil {
			if err == nil {
				return receipt(send), nil
			}
			return notify.Receipt{}, err
		}
	}
	return c.attempt(ctx, log, send, req)
}

// attempt claims the row and sends the request once.
func (c *Channel) attempt(ctx context.Context, log logrus.FieldLogger, send *Send, req Request) (notify.Receipt, error) {
	if err := claim(ctx, c.db, send, c.clock()); err != nil {
		return notify.Receipt{}, fmt.Errorf("send SMS %s: %w", send.Key, err)
	}
	providerID, err := c.provider.Send(ctx, req)
	// The outcome is recorded even when ctx ended, so the next attempt
	// knows what this one learnt.
	recordCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()

	var rejected *RejectedError
	switch {
	case err == nil:
		if err := finish(recordCtx, c.db, send, StateSent, providerID, "", c.clock()); err != nil {
			log.WithError(err).Error("SMS sent but not recorded: the next attempt asks the provider before sending again")
			return notify.Receipt{}, err
		}
		log.WithField("provider_id", providerID).Info("SMS sent")
		return receipt(send), nil
	case errors.As(err, &rejected) && rejected.Permanent:
		if ferr := finish(recordCtx, c.db, send, StateFailed, "", err.Error(), c.clock()); ferr != nil {
			return notify.Receipt{}, ferr
		}
		log.WithError(err).Warn("SMS rejected for good")
		return notify.Receipt{}, notify.Permanent(ChannelName, 0, err)
	case errors.As(err, &rejected):
		// The provider replied that it did not send the SMS, so the next
		// attempt may send it without asking first.
		if ferr := finish(recordCtx, c.db, send, StatePending, "", err.Error(), c.clock()); ferr != nil {
			return notify.Receipt{}, ferr
		}
		log.WithError(err).Warn("SMS rejected for now, the next attempt sends it again")
		return notify.Receipt{}, fmt.Errorf("send SMS %s: %w", send.Key, err)
	default:
		// No response: the state stays sending, and the next attempt asks
		// the provider before it sends anything.
		if ferr := finish(recordCtx, c.db, send, StateSending, "", err.Error(), c.clock()); ferr != nil {
			log.WithError(ferr).Error("could not record the SMS attempt without a response")
		}
		log.WithError(err).Warn("SMS outcome unknown: the next attempt checks with the provider before sending")
		return notify.Receipt{}, fmt.Errorf("send SMS %s: outcome unknown: %w", send.Key, err)
	}
}

// resolve settles a row left in the sending state by an attempt that got
// no response. It returns true with a nil error when the provider holds the
// SMS, false with a nil error when the SMS may be sent again, and an error
// otherwise.
//
// Why it queries instead of sending again: neither SendSms is idempotent, so
// a second request after a timeout may deliver a second SMS. Both
// providers can be asked about a number's recent SMS, and the channel
// matches them on OutID:
//
//   - Aliyun's QuerySendDetails lists an SMS as soon as it is accepted
//     (SendStatus 1, waiting for the receipt). Once ResolveAfter has passed
//     since the attempt, no record proves that Aliyun never accepted it,
//     so the channel sends it again.
//   - Tencent's PullSmsSendStatusByPhoneNumber lists only delivery
//     receipts, which may arrive hours later for a phone that is switched
//     off, so no record proves nothing. After ResolveAfter the channel
//     records the outcome as unknown and fails permanently, so an
//     operator checks the console instead of the customer getting two SMS.
func (c *Channel) resolve(ctx context.Context, log logrus.FieldLogger, send *Send, req Request) (bool, error) {
	attemptedAt := send.UpdatedAt
	if send.AttemptedAt != nil {
		attemptedAt = *send.AttemptedAt
	}

	record, found, err := c.provider.Find(ctx, req, attemptedAt)
	if err != nil {
		return false, fmt.Errorf("send SMS %s: check the earlier attempt with %s: %w", send.Key, c.provider.Name(), err)
	}

	now := c.clock()
	if found && record.Failed {
		reason := fmt.Sprintf("%s accepted the SMS but could not deliver it: %s", c.provider.Name(), record.Reason)
		if err := finish(ctx, c.db, send, StateFailed, record.ProviderID, reason, now); err != nil {
			return false, err
		}
		return false, notify.Permanent(ChannelName, 0, errors.New(reason))
	}
	if found {
		if err := finish(ctx, c.db, send, StateSent, record.ProviderID, "", now); err != nil {
			return false, err
		}
		log.WithField("provider_id", record.ProviderID).Info("SMS found sent by an earlier attempt")
		return true, nil
	}

	if waited := now.Sub(attemptedAt); waited < c.resolveAfter {
		return false, fmt.Errorf("send SMS %s: the attempt at %s got no response and %s holds no record of it yet: the next attempt checks again",
			send.Key, attemptedAt.UTC().Format(time.RFC3339), c.provider.Name())
	}
	if c.provider.AbsenceProvesNotSent() {
		log.Info("SMS not found at the provider after an attempt without a response: sending it again")
		return false, nil
	}

	reason := fmt.Sprintf("outcome unknown: the attempt at %s got no response and %s held no receipt for out id %s after %s. "+
		"Check the provider's console: ordo will not send this SMS again",
		attemptedAt.UTC().Format(time.RFC3339), c.provider.Name(), send.OutID, c.resolveAfter)
	if err := finish(ctx, c.db, send, StateUnknown, "", reason, now); err != nil {
		return false, err
	}
	log.Warn("SMS outcome unknown, recorded for the operator")
	return false, notify.Permanent(ChannelName, 0, errors.New(reason))
}

func receipt(send *Send) notify.Receipt {
	if send.ProviderID != "" {
		return notify.Receipt{MessageID: send.ProviderID}
	}
	return notify.Receipt{MessageID: send.OutID}
}
