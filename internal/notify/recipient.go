package notify

// RecipientID returns the channel's id of msg's recipient: the id users
// maps the person's name to, else the message's address, else the name.
// The DingTalk, Feishu and WeCom channels use it through ChatLayout.
func RecipientID(users map[string]string, msg Message) string {
	if id, ok := users[msg.Recipient]; ok {
		return id
	}
	if msg.Address != "" {
		return msg.Address
	}
	return msg.Recipient
}
