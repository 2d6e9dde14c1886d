package activities

import (
	"context"
	"sync"
	"testing"

	"github.com/ordo-project/ordo/internal/notify"
	"github.com/ordo-project/ordo/internal/store/storetest"
)

// recordingChannel is an "sms" channel that keeps the messages it gets.
type recordingChannel struct {
	mu       sync.Mutex
	messages []notify.Message
}

func (c *recordingChannel) Name() string { return notify.ChannelSMS }

func (c *recordingChannel) Send(ctx context.Context, msg notify.Message) (notify.Receipt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.messages = append(c.messages, msg)
	return notify.Receipt{MessageID: "recorded"}, nil
}

func TestOpenTaskPassesTemplateParams(t *testing.T) {
	f := newTaskFixture(t, storetest.Open(t, "sqlite"))
	recorder := &recordingChannel{}
	channels, err := notify.NewRegistry(recorder)
	if err != nil {
		t.Fatal(err)
	}
	f.acts.Channels = channels

	params := map[string]string{"customer": "Acme Corporation", "contract_no": "CT-9", "end_date": "2027-01-04"}
	request := TaskRequest{
		Key: "renewal/CT-9/sms", Kind: TaskCustomerSMS, Assignee: "Acme Corporation", Phone: "13812345678",
		Subject: "customer:Acme Corporation", Params: params, Channels: []string{notify.ChannelSMS},
	}
	if _, err := f.open(t, request); err != nil {
		t.Fatalf("open: %v", err)
	}
	if len(recorder.messages) != 1 {
		t.Fatalf("channel got %d messages, expected 1", len(recorder.messages))
	}
	msg := recorder.messages[0]
	if msg.Template != notify.TemplateRenewalSMS {
		t.Errorf("template %q, expected %s", msg.Template, notify.TemplateRenewalSMS)
	}
	for name, value := range params {
		if msg.Params[name] != value {
			t.Errorf("param %s = %q, expected %q", name, msg.Params[name], value)
		}
	}
	if msg.Address != "13812345678" {
		t.Errorf("address %q, expected the task's phone", msg.Address)
	}
}
