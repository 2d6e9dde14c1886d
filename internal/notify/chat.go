package notify

import "time"

// DefaultButtonText is the label of the button that links a DingTalk or
// Feishu card to its task when the configuration sets none.
const DefaultButtonText = "查看任务"

// dueLayout is the time layout of due times on chat cards, such as
// "2026-12-05 18:00 CST".
const dueLayout = "2006-01-02 15:04 MST"

// ChatLayout contains the settings that DingTalk, Feishu and WeCom
// channels share beyond their client: whom a message goes to, the card
// button's label and the time zone of due times.
type ChatLayout struct {
	users    map[string]string
	button   string
	location *time.Location
}

// NewChatLayout returns the layout. users maps a person's name to the
// platform's id, button is the label used as given, and a nil location
// means UTC.
func NewChatLayout(users map[string]string, button string, location *time.Location) ChatLayout {
	if location == nil {
		location = time.UTC
	}
	return ChatLayout{users: users, button: button, location: location}
}

// RecipientID returns the platform's id of msg's recipient, as
// RecipientID does.
func (l ChatLayout) RecipientID(msg Message) string { return RecipientID(l.users, msg) }

// Button returns the card button's label.
func (l ChatLayout) Button() string { return l.button }

// Location returns the time zone due times are shown in.
func (l ChatLayout) Location() *time.Location { return l.location }

// Due returns msg's due time in the layout's time zone, such as
// "2026-12-05 18:00 CST". It returns "" when msg has no due time.
func (l ChatLayout) Due(msg Message) string {
	if msg.Due == nil {
		return ""
	}
	return msg.Due.In(l.location).Format(dueLayout)
}
