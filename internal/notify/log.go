package notify

import (
	"context"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/ordo-project/ordo/internal/logging"
)

// Log field names of the notification log entries.
const (
	keyNotification = "notification_key"
	keyRecipient    = "recipient"
	keyTitle        = "title"
	keyLink         = "link"
	keyDue          = "due"
	keyTaskKind     = "task_kind"
	keyTaskSubject  = "task_subject"
	keyPhone        = "phone"
	keyMessageID    = "message_id"
	keyText         = "text"
)

// LogChannel writes each notification as one info entry of the log, so an
// operator sees every task in the log even where no other channel works.
// It logs the title and the link, not the body, which may hold customer
// details.
type LogChannel struct {
	Logger logrus.FieldLogger
}

var _ Channel = (*LogChannel)(nil)

// Name returns "log".
func (c *LogChannel) Name() string { return ChannelLog }

// Send logs msg. It returns no error.
func (c *LogChannel) Send(ctx context.Context, msg Message) (Receipt, error) {
	receipt := Receipt{MessageID: StableID(msg.Key)}
	entry := c.Logger.WithFields(logrus.Fields{
		logging.KeyComponent: "notify",
		keyNotification:      msg.Key,
		keyMessageID:         receipt.MessageID,
		keyRecipient:         msg.Recipient,
		keyTitle:             msg.Title,
		keyTaskKind:          msg.TaskKind,
		keyTaskSubject:       msg.TaskSubject,
	})
	if msg.Link != "" {
		entry = entry.WithField(keyLink, msg.Link)
	}
	if msg.Due != nil {
		entry = entry.WithField(keyDue, msg.Due.UTC().Format(time.RFC3339))
	}
	entry.Info("task notification")
	return receipt, nil
}

// SMSLogChannel replaces an SMS gateway until one is configured. It
// checks that the recipient has a phone number and logs the text with the
// number masked.
//
// NOTE: it sends nothing. An SMS connector replaces it under the same
// channel name "sms".
type SMSLogChannel struct {
	Logger logrus.FieldLogger
}

var _ Channel = (*SMSLogChannel)(nil)

// Name returns "sms".
func (c *SMSLogChannel) Name() string { return ChannelSMS }

// Send logs the SMS text. A recipient without a phone number is a
// permanent failure.
func (c *SMSLogChannel) Send(ctx context.Context, msg Message) (Receipt, error) {
	if msg.Address == "" {
		return Receipt{}, Permanent(ChannelSMS, 0, ErrNoAddress)
	}
	receipt := Receipt{MessageID: StableID(msg.Key)}
	c.Logger.WithFields(logrus.Fields{
		logging.KeyComponent: "notify",
		keyNotification:      msg.Key,
		keyMessageID:         receipt.MessageID,
		keyRecipient:         msg.Recipient,
		keyPhone:             MaskPhone(msg.Address),
		keyTaskSubject:       msg.TaskSubject,
		keyText:              msg.Body,
	}).Info("SMS logged instead of sent: no SMS gateway is configured")
	return receipt, nil
}

// MaskPhone hides all but the first three and the last four digits of a
// phone number, e.g. 138****5678, so logs do not hold whole numbers.
func MaskPhone(phone string) string {
	runes := []rune(phone)
	if len(runes) <= 7 {
		return "****"
	}
	for i := 3; i < len(runes)-4; i++ {
		runes[i] = '*'
	}
	return string(runes)
}
