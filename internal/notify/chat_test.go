package notify_test

import (
	"testing"
	"time"

	"github.com/ordo-project/ordo/internal/notify"
)

func TestChatLayoutDue(t *testing.T) {
	due := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	msg := notify.Message{Recipient: "张伟", Due: &due}

	utc := notify.NewChatLayout(nil, "", nil)
	if utc.Location() != time.UTC {
		t.Errorf("location = %v, expected UTC for a nil location", utc.Location())
	}
	if got := utc.Due(msg); got != "2026-12-05 10:00 UTC" {
		t.Errorf("due in UTC = %q", got)
	}

	shanghai := time.FixedZone("CST", 8*3600)
	if got := notify.NewChatLayout(nil, "", shanghai).Due(msg); got != "2026-12-05 18:00 CST" {
		t.Errorf("due in CST = %q", got)
	}
	if got := utc.Due(notify.Message{}); got != "" {
		t.Errorf("due of a message without one = %q, expected empty", got)
	}
}

func TestChatLayoutRecipient(t *testing.T) {
	layout := notify.NewChatLayout(map[string]string{"张伟": "zhangwei"}, "查看", nil)
	if got := layout.RecipientID(notify.Message{Recipient: "张伟", Address: "zw"}); got != "zhangwei" {
		t.Errorf("configured person = %q, expected zhangwei", got)
	}
	if got := layout.RecipientID(notify.Message{Recipient: "李四", Address: "lisi"}); got != "lisi" {
		t.Errorf("person with an address = %q, expected lisi", got)
	}
	if got := layout.RecipientID(notify.Message{Recipient: "王五"}); got != "王五" {
		t.Errorf("person without an address = %q, expected the name", got)
	}
	if layout.Button() != "查看" {
		t.Errorf("button = %q, expected the label as given", layout.Button())
	}
}
