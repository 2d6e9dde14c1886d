package dingtalk

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ordo-project/ordo/internal/notify"
)

// ChannelConfig configures the channel on top of the client.
type ChannelConfig struct {
	Client Config
	// Users maps a person's name, as the rules name them, to their
	// DingTalk user id. A person not listed is addressed by the message's
	// address, else by their name.
	Users map[string]string
	// ButtonText is the action card's button label, default 查看任务.
	ButtonText string
	// Location is the time zone due times are shown in, default UTC.
	Location *time.Location
}

// Channel sends each notification as a work notice and waits for
// DingTalk's result.
type Channel struct {
	client *Client
	layout notify.ChatLayout
}

var _ notify.Channel = (*Channel)(nil)

// NewChannel returns the channel and its client.
func NewChannel(cfg ChannelConfig) (*Channel, error) {
	client, err := NewClient(cfg.Client)
	if err != nil {
		return nil, err
	}
	button := cfg.ButtonText
	if button == "" {
		button = notify.DefaultButtonText
	}
	return &Channel{client: client, layout: notify.NewChatLayout(cfg.Users, button, cfg.Location)}, nil
}

// Client returns the channel's client.
func (c *Channel) Client() *Client { return c.client }

// Name returns "dingtalk".
func (c *Channel) Name() string { return ChannelName }

// UserID returns the DingTalk user id of the message's recipient: the
// configured id, else the message's address, else the person's name.
func (c *Channel) UserID(msg notify.Message) string { return c.layout.RecipientID(msg) }

// Send delivers msg as a work notice and checks DingTalk's result. A
// notice DingTalk dropped because the person received the same content
// today counts as delivered: the content carries the notification's
// reference, so only an earlier attempt of this notification can match.
func (c *Channel) Send(ctx context.Context, msg notify.Message) (notify.Receipt, error) {
	user := c.UserID(msg)
	if strings.TrimSpace(user) == "" {
		return notify.Receipt{}, notify.Permanent(ChannelName, 0, fmt.Errorf("%s: %w", msg.Recipient, notify.ErrNoAddress))
	}
	taskID, err := c.client.SendWorkNotice(ctx, []string{user}, c.Notice(msg))
	if err != nil {
		return notify.Receipt{}, err
	}
	result, err := c.client.WaitResult(ctx, taskID)
	if err != nil {
		if errors.Is(err, ErrPending) {
			// A retry sends identical content, which DingTalk drops if
			// this send arrives after all.
			return notify.Receipt{}, fmt.Errorf("dingtalk: %s: %w", msg.Recipient, err)
		}
		return notify.Receipt{}, err
	}
	receipt := notify.Receipt{MessageID: formatTaskID(taskID)}
	outcome, code := result.For(user)
	switch outcome {
	case Delivered, AlreadyDelivered:
		return receipt, nil
	case InvalidUser:
		return notify.Receipt{}, notify.Permanent(ChannelName, 0,
			fmt.Errorf("%s: DingTalk reported user id %q as invalid: check notify.dingtalk.users and the app's visible range", msg.Recipient, user))
	case OverDailyLimit:
		return notify.Receipt{}, notify.Permanent(ChannelName, 0,
			fmt.Errorf("%s: DingTalk did not deliver task %d over a limit (code %s): the person reached the day's limit of work notices", msg.Recipient, taskID, code))
	case Failed:
		return notify.Receipt{}, fmt.Errorf("dingtalk: %s: DingTalk could not deliver task %d", msg.Recipient, taskID)
	default:
		return notify.Receipt{}, fmt.Errorf("dingtalk: %s: the result of task %d does not name user %q", msg.Recipient, taskID, user)
	}
}

// Reference returns the short reference the notice of key carries: the
// first 8 hex digits of the key's stable id.
func Reference(key string) string { return notify.StableID(key)[:8] }

// Notice builds the work notice of msg: an action card linking to the
// task, or markdown when there is no link. The text ends with the due
// time and the notification's reference, so every notification differs
// from every other and a retry equals its first attempt.
func (c *Channel) Notice(msg notify.Message) Msg {
	var text strings.Builder
	fmt.Fprintf(&text, "### %s\n\n%s", msg.Title, msg.Body)
	if due := c.layout.Due(msg); due != "" {
		fmt.Fprintf(&text, "\n\n%s", due)
	}
	fmt.Fprintf(&text, "\n\n%s", Reference(msg.Key))
	if msg.Link == "" {
		return Msg{MsgType: "markdown", Markdown: &Markdown{Title: msg.Title, Text: text.String()}}
	}
	return Msg{MsgType: "action_card", ActionCard: &ActionCard{
		Title: msg.Title, Markdown: text.String(), SingleTitle: c.layout.Button(), SingleURL: msg.Link,
	}}
}
