package feishu

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ordo-project/ordo/internal/notify"
)

// ChannelConfig configures the channel on top of the client.
type ChannelConfig struct {
	Client Config
	// Users maps a person's name, as the rules name them, to their Feishu
	// user id or open id (see Config.ReceiveIDType). A person not listed
	// is addressed by the message's address, else by their name.
	Users map[string]string
	// ButtonText is the card's button label, default 查看任务.
	ButtonText string
	// Location is the time zone due times are shown in, default UTC.
	Location *time.Location
}

// Channel sends each notification as an interactive card linking to the
// task, or as a post when there is no link.
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

// Name returns "feishu".
func (c *Channel) Name() string { return ChannelName }

// ReceiveID returns the Feishu id of the message's recipient: the
// configured id, else the message's address, else the person's name.
func (c *Channel) ReceiveID(msg notify.Message) string { return c.layout.RecipientID(msg) }

// UUID returns the uuid of the notification of key: its stable id, 32
// hex digits, within Feishu's limit of 50 characters.
func UUID(key string) string { return notify.StableID(key) }

// Send delivers msg with the uuid of its key, so Feishu sends a retry
// within the hour at most once.
//
// NOTE: Feishu forgets a uuid after an hour, so a retry that comes later
// than that after a lost reply sends a second copy.
func (c *Channel) Send(ctx context.Context, msg notify.Message) (notify.Receipt, error) {
	receiver := c.ReceiveID(msg)
	if strings.TrimSpace(receiver) == "" {
		return notify.Receipt{}, notify.Permanent(ChannelName, 0, fmt.Errorf("%s: %w", msg.Recipient, notify.ErrNoAddress))
	}
	msgType, content, err := c.Content(msg)
	if err != nil {
		return notify.Receipt{}, notify.Permanent(ChannelName, 0, err)
	}
	id, err := c.client.Send(ctx, Message{ReceiveID: receiver, MsgType: msgType, Content: content, UUID: UUID(msg.Key)})
	if err != nil {
		return notify.Receipt{}, err
	}
	return notify.Receipt{MessageID: id}, nil
}

// Content returns the message type and content of msg: an interactive
// card with a button to the task, or a post without a link.
func (c *Channel) Content(msg notify.Message) (string, string, error) {
	text := msg.Body
	if due := c.layout.Due(msg); due != "" {
		text += "\n" + due
	}
	var value any
	msgType := "interactive"
	if msg.Link != "" {
		value = card{
			Config: cardConfig{WideScreenMode: true},
			Header: cardHeader{Title: plainText(msg.Title), Template: "blue"},
			Elements: []any{
				cardDiv{Tag: "div", Text: cardText{Tag: "lark_md", Content: text}},
				cardAction{Tag: "action", Actions: []cardButton{{
					Tag: "button", Text: plainText(c.layout.Button()), Type: "primary", URL: msg.Link,
				}}},
			},
		}
	} else {
		msgType = "post"
		value = map[string]post{"zh_cn": {Title: msg.Title, Content: [][]postText{{{Tag: "text", Text: text}}}}}
	}
	data, err := json.Marshal(value)
	if err != nil {
		return "", "", fmt.Errorf("feishu: encode the %s content: %w", msgType, err)
	}
	return msgType, string(data), nil
}

type card struct {
	Config   cardConfig `json:"config"`
	Header   cardHeader `json:"header"`
	Elements []any      `json:"elements"`
}

type cardConfig struct {
	WideScreenMode bool `json:"wide_screen_mode"`
}

type cardHeader struct {
	Title    cardText `json:"title"`
	Template string   `json:"template"`
}

type cardText struct {
	Tag     string `json:"tag"`
	Content string `json:"content"`
}

func plainText(s string) cardText { return cardText{Tag: "plain_text", Content: s} }

type cardDiv struct {
	Tag  string   `json:"tag"`
	Text cardText `json:"text"`
}

type cardAction struct {
	Tag     string       `json:"tag"`
	Actions []cardButton `json:"actions"`
}

type cardButton struct {
	Tag  string   `json:"tag"`
	Text cardText `json:"text"`
	Type string   `json:"type"`
	URL  string   `json:"url"`
}

type post struct {
	Title   string       `json:"title"`
	Content [][]postText `json:"content"`
}

type postText struct {
	Tag  string `json:"tag"`
	Text string `json:"text"`
}
