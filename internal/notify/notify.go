// Package notify sends the notifications of ordo's tasks through channels
// (email, the log and, for now as a log only, SMS) and renders their texts
// from embedded message files in Simplified Chinese or English.
//
// A channel sends one Message per call. It derives the message's id from
// Message.Key, so sending the same notification twice produces two copies
// with one id, which the receiving side can recognise as the same message.
// Channels decide retryability: a failure wrapped by Permanent will never
// succeed, every other error may succeed on a later attempt.
package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"time"
)

// Channel names.
const (
	ChannelEmail    = "email"
	ChannelLog      = "log"
	ChannelSMS      = "sms"
	ChannelWeCom    = "wecom"
	ChannelDingTalk = "dingtalk"
	ChannelFeishu   = "feishu"
)

// Channel delivers messages to people.
type Channel interface {
	// Name is the channel's registry name, e.g. "email".
	Name() string
	// Send delivers msg once. It returns a permanent error (see
	// IsPermanent) when no later attempt can succeed.
	Send(ctx context.Context, msg Message) (Receipt, error)
}

// Message is one notification to one person through one channel.
type Message struct {
	// Key identifies the notification. Channels derive the message id
	// from it, so a resend carries the same id.
	Key string
	// Recipient is the person's name; Address is their email address or
	// phone number, depending on the channel.
	Recipient string
	Address   string
	// Title is the subject line; Body the plain text.
	Title string
	Body  string
	// Link is the URL of the task, appended to the text by channels that
	// can show it.
	Link string
	Due  *time.Time
	// TaskKind and TaskSubject describe the task, for channels that log.
	TaskKind    string
	TaskSubject string
	// Template is the name of the message's text (see templates.go) and
	// Params the values it was rendered from. Channels that send a
	// provider's own template instead of Body, such as SMS, map them.
	Template string
	Params   map[string]string
}

// Receipt is the channel's record of a sent message.
type Receipt struct {
	// MessageID identifies the message in the channel, e.g. the email's
	// Message-ID header with its angle brackets.
	MessageID string
}

// ErrNoAddress means the recipient has no address for the channel.
var ErrNoAddress = errors.New("recipient has no address for this channel")

// PermanentError is a send failure that no retry can fix: the server
// rejected the recipient (SMTP 5xx), or the address is missing or invalid.
type PermanentError struct {
	Channel string
	// Code is the server's reply code, 0 when the failure is local.
	Code int
	Err  error
}

func (e *PermanentError) Error() string {
	if e.Code != 0 {
		return fmt.Sprintf("%s channel: permanent failure (code %d): %v", e.Channel, e.Code, e.Err)
	}
	return fmt.Sprintf("%s channel: permanent failure: %v", e.Channel, e.Err)
}

func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent marks err as a failure that no retry can fix.
func Permanent(channel string, code int, err error) error {
	return &PermanentError{Channel: channel, Code: code, Err: err}
}

// IsPermanent reports whether err, or an error it wraps, is permanent.
func IsPermanent(err error) bool {
	var permanent *PermanentError
	return errors.As(err, &permanent)
}

// StableID returns a hex digest of key: the same key always gives the same
// id, and different keys practically never share one.
func StableID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16])
}

// Paced is implemented by channels that hold a message back until the
// recipient may receive another one, such as WeCom's 30 messages a minute
// per person. ordo sends through them from an outbox instead of from the
// task activity, so a burst for one person waits in the database and not
// in a worker's activity slots.
type Paced interface {
	Channel
	// Paced reports whether the channel paces its messages.
	Paced() bool
}

// IsPaced reports whether ordo sends through channel from the outbox.
func IsPaced(channel Channel) bool {
	p, ok := channel.(Paced)
	return ok && p.Paced()
}

// PacedNames returns the names of the registry's paced channels, sorted.
func (r *Registry) PacedNames() []string {
	var names []string
	for name, channel := range r.channels {
		if IsPaced(channel) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// Registry holds the channels by name.
type Registry struct {
	channels map[string]Channel
}

// NewRegistry returns a registry of channels; two channels with one name
// are an error.
func NewRegistry(channels ...Channel) (*Registry, error) {
	r := &Registry{channels: make(map[string]Channel, len(channels))}
	for _, channel := range channels {
		if err := r.Add(channel); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Add registers a channel under its name.
func (r *Registry) Add(channel Channel) error {
	name := channel.Name()
	if name == "" {
		return fmt.Errorf("register notification channel %T: empty name", channel)
	}
	if _, exists := r.channels[name]; exists {
		return fmt.Errorf("register notification channel %q: a channel with that name is registered already", name)
	}
	r.channels[name] = channel
	return nil
}

// Get returns the channel registered under name.
func (r *Registry) Get(name string) (Channel, bool) {
	channel, ok := r.channels[name]
	return channel, ok
}

// Names returns the registered channel names in alphabetical order.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.channels))
	for name := range r.channels {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
