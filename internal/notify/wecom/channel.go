package wecom

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ordo-project/ordo/internal/notify"
)

// Card field limits in bytes, from WeCom's textcard documentation.
const (
	maxTitleBytes       = 128
	maxDescriptionBytes = 512
)

// ChannelConfig configures the channel on top of the client.
type ChannelConfig struct {
	Client Config
	// Users maps a person's name, as the rules name them, to their WeCom
	// user id. A person not listed is addressed by their name.
	Users map[string]string
	// ButtonText is the card's button label, at most 4 characters; empty
	// leaves WeCom's default 详情.
	ButtonText string
	// Location is the time zone due times are shown in, default UTC.
	Location *time.Location
}

// Channel sends each notification as a text card linking to the task.
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
	if n := len([]rune(cfg.ButtonText)); n > 4 {
		return nil, fmt.Errorf("wecom: button text %q has %d characters: WeCom allows 4", cfg.ButtonText, n)
	}
	return &Channel{client: client, layout: notify.NewChatLayout(cfg.Users, cfg.ButtonText, cfg.Location)}, nil
}

// Client returns the channel's client.
func (c *Channel) Client() *Client { return c.client }

// Name returns "wecom".
func (c *Channel) Name() string { return ChannelName }

// UserID returns the WeCom user id of the message's recipient: the
// configured id, else the message's address, else the person's name.
func (c *Channel) UserID(msg notify.Message) string { return c.layout.RecipientID(msg) }

// Send delivers msg as a text card. A recipient WeCom rejects is a
// permanent failure that names the reason.
func (c *Channel) Send(ctx context.Context, msg notify.Message) (notify.Receipt, error) {
	user := c.UserID(msg)
	if strings.TrimSpace(user) == "" {
		return notify.Receipt{}, notify.Permanent(ChannelName, 0, fmt.Errorf("%s: %w", msg.Recipient, notify.ErrNoAddress))
	}
	result, err := c.client.SendTextCard(ctx, []string{user}, c.card(msg))
	if err != nil {
		return notify.Receipt{}, err
	}
	if reason, failed := result.Failed[user]; failed {
		return notify.Receipt{}, notify.Permanent(ChannelName, 0, fmt.Errorf("%s: %s", msg.Recipient, reason))
	}
	return notify.Receipt{MessageID: result.MsgID}, nil
}

// card builds the text card. The due time is part of the description, so
// a reminder for a new deadline differs from the previous one and WeCom's
// duplicate check does not drop it.
func (c *Channel) card(msg notify.Message) TextCard {
	description := msg.Body
	if msg.Due != nil && !strings.Contains(description, msg.Due.In(c.layout.Location()).Format("2006-01-02 15:04")) {
		description += "\n" + c.layout.Due(msg)
	}
	return TextCard{
		Title:       truncate(msg.Title, maxTitleBytes),
		Description: truncate(description, maxDescriptionBytes),
		URL:         msg.Link,
		BtnTxt:      c.layout.Button(),
	}
}

// Paced returns true: the channel holds each message until the person may
// receive another one, so ordo sends through it from the outbox.
func (c *Channel) Paced() bool { return true }
