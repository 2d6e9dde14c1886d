package notify

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/ordo-project/ordo/internal/logging"
	smtpsim "github.com/ordo-project/ordo/internal/simulators/smtp"
	"github.com/ordo-project/ordo/internal/sqlitedb"
)

// startSink starts the SMTP sink simulator on a free loopback port.
func startSink(t *testing.T) *smtpsim.Simulator {
	t.Helper()
	db, err := sqlitedb.Open(filepath.Join(t.TempDir(), "simulators.db"), 1)
	if err != nil {
		t.Fatalf("open simulators database: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	sink, err := smtpsim.New(context.Background(), smtpsim.Config{DB: db})
	if err != nil {
		t.Fatalf("new SMTP sink: %v", err)
	}
	if err := sink.Start(); err != nil {
		t.Fatalf("start SMTP sink: %v", err)
	}
	t.Cleanup(func() { _ = sink.Close() })
	return sink
}

func newTestEmail(t *testing.T, address string) *EmailChannel {
	t.Helper()
	channel, err := NewEmailChannel(EmailConfig{Address: address, From: "ordo <ordo@ordo.example>", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("new email channel: %v", err)
	}
	return channel
}

func sampleMessage(key string) Message {
	return Message{
		Key: key, Recipient: "Moses Frase", Address: "moses@example.com",
		Title: "请联系线索 1C1I7A6R（Acme Corporation）", Body: "Moses Frase，您好：\n请在 2026-12-05 18:00 前联系客户。",
		Link: "http://127.0.0.1:8080/api/v1/tasks/7",
	}
}

func TestEmailDelivered(t *testing.T) {
	sink := startSink(t)
	channel := newTestEmail(t, sink.Address())
	ctx := context.Background()
	msg := sampleMessage("lead-SLA-1C1I7A6R/reminder/2026-12-05T10:00:00Z/email")

	receipt, err := channel.Send(ctx, msg)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if receipt.MessageID != channel.MessageID(msg.Key) {
		t.Errorf("receipt id %q, expected %q", receipt.MessageID, channel.MessageID(msg.Key))
	}
	if !strings.HasSuffix(receipt.MessageID, "@ordo.example>") {
		t.Errorf("message id %q does not use the sender's domain", receipt.MessageID)
	}

	mails, err := sink.Messages(ctx, "")
	if err != nil {
		t.Fatalf("list sink messages: %v", err)
	}
	if len(mails) != 1 {
		t.Fatalf("sink holds %d messages, expected 1", len(mails))
	}
	mail := mails[0]
	if mail.MessageID != receipt.MessageID {
		t.Errorf("sink Message-ID %q, expected %q", mail.MessageID, receipt.MessageID)
	}
	if mail.Subject != msg.Title {
		t.Errorf("sink subject %q, expected %q", mail.Subject, msg.Title)
	}
	if mail.From != "ordo@ordo.example" || mail.To != "moses@example.com" {
		t.Errorf("envelope from %q to %q", mail.From, mail.To)
	}
	if !strings.Contains(mail.Body, "请在 2026-12-05 18:00 前联系客户。") {
		t.Errorf("body %q lacks the text", mail.Body)
	}
	if !strings.Contains(mail.Body, "\n"+msg.Link) {
		t.Errorf("body %q lacks the link on its own line", mail.Body)
	}
}

func TestEmailResendKeepsMessageID(t *testing.T) {
	sink := startSink(t)
	channel := newTestEmail(t, sink.Address())
	ctx := context.Background()
	msg := sampleMessage("resend/email")

	first, err := channel.Send(ctx, msg)
	if err != nil {
		t.Fatalf("first send: %v", err)
	}
	second, err := channel.Send(ctx, msg)
	if err != nil {
		t.Fatalf("second send: %v", err)
	}
	if first.MessageID != second.MessageID {
		t.Errorf("resend got Message-ID %q, first %q", second.MessageID, first.MessageID)
	}
	summary, err := sink.Summary(ctx)
	if err != nil {
		t.Fatalf("sink summary: %v", err)
	}
	if summary.Messages != 2 || summary.MessageIDs != 1 || summary.Duplicated != 1 || summary.DuplicateCopies != 1 {
		t.Errorf("summary %+v, expected 2 messages with 1 duplicated Message-ID", summary)
	}
}

func TestEmailTemporaryFailure(t *testing.T) {
	sink := startSink(t)
	channel := newTestEmail(t, sink.Address())
	sink.FailNext(1)

	_, err := channel.Send(context.Background(), sampleMessage("temp/email"))
	if err == nil {
		t.Fatalf("send during a 451: expected an error")
	}
	if IsPermanent(err) {
		t.Errorf("451 reported as permanent: %v", err)
	}
	if !strings.Contains(err.Error(), "451") {
		t.Errorf("error %q does not show the reply code", err)
	}
	if _, err := channel.Send(context.Background(), sampleMessage("temp/email")); err != nil {
		t.Fatalf("send after the failure: %v", err)
	}
	summary, err := sink.Summary(context.Background())
	if err != nil {
		t.Fatalf("sink summary: %v", err)
	}
	if summary.Messages != 1 {
		t.Errorf("sink holds %d messages, expected 1", summary.Messages)
	}
}

func TestEmailPermanentFailures(t *testing.T) {
	sink := startSink(t)
	channel := newTestEmail(t, sink.Address())
	ctx := context.Background()

	rejected := sampleMessage("rejected/email")
	rejected.Address = "nobody@example.invalid"
	_, err := channel.Send(ctx, rejected)
	var permanent *PermanentError
	if !errors.As(err, &permanent) {
		t.Fatalf("rejected recipient: error %v, expected a permanent error", err)
	}
	if permanent.Code != 550 {
		t.Errorf("code = %d, expected 550", permanent.Code)
	}

	noAddress := sampleMessage("no-address/email")
	noAddress.Address = ""
	if _, err := channel.Send(ctx, noAddress); !IsPermanent(err) || !errors.Is(err, ErrNoAddress) {
		t.Errorf("missing address: error %v, expected a permanent ErrNoAddress", err)
	}

	invalid := sampleMessage("invalid-address/email")
	invalid.Address = "not an address"
	if _, err := channel.Send(ctx, invalid); !IsPermanent(err) {
		t.Errorf("invalid address: error %v, expected a permanent error", err)
	}
}

func TestEmailServerDown(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("reserve a port: %v", err)
	}
	address := listener.Addr().String()
	_ = listener.Close()

	_, err = newTestEmail(t, address).Send(context.Background(), sampleMessage("down/email"))
	if err == nil {
		t.Fatalf("send to a closed port: expected an error")
	}
	if IsPermanent(err) {
		t.Errorf("connection refused reported as permanent: %v", err)
	}
}

func TestEmailConfigRejected(t *testing.T) {
	cases := []struct {
		name string
		cfg  EmailConfig
	}{
		{"no port", EmailConfig{Address: "127.0.0.1", From: "ordo@example.com"}},
		{"bad port", EmailConfig{Address: "127.0.0.1:99999", From: "ordo@example.com"}},
		{"bad sender", EmailConfig{Address: "127.0.0.1:25", From: "ordo"}},
		{"bad TLS mode", EmailConfig{Address: "127.0.0.1:25", From: "ordo@example.com", TLS: "ssl"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := NewEmailChannel(c.cfg); err == nil {
				t.Errorf("expected an error")
			}
		})
	}
}

func TestSMSWithoutPhone(t *testing.T) {
	channel := &SMSLogChannel{Logger: discardLogger()}
	msg := sampleMessage("sms")
	msg.Address = ""
	if _, err := channel.Send(context.Background(), msg); !IsPermanent(err) {
		t.Errorf("SMS without a phone: error %v, expected permanent", err)
	}
	msg.Address = "13812345678"
	receipt, err := channel.Send(context.Background(), msg)
	if err != nil {
		t.Fatalf("SMS with a phone: %v", err)
	}
	if receipt.MessageID != StableID(msg.Key) {
		t.Errorf("SMS receipt %q, expected the key's stable id", receipt.MessageID)
	}
}

func TestMaskPhone(t *testing.T) {
	cases := map[string]string{
		"13812345678":    "138****5678",
		"+8613812345678": "+86*******5678",
		"12345":          "****",
	}
	for phone, expected := range cases {
		if got := MaskPhone(phone); got != expected {
			t.Errorf("MaskPhone(%q) = %q, expected %q", phone, got, expected)
		}
	}
}

func TestRegistryRejectsDuplicates(t *testing.T) {
	logger := discardLogger()
	registry, err := NewRegistry(&LogChannel{Logger: logger}, &SMSLogChannel{Logger: logger})
	if err != nil {
		t.Fatalf("new registry: %v", err)
	}
	if got := strings.Join(registry.Names(), ","); got != "log,sms" {
		t.Errorf("names = %s, expected log,sms", got)
	}
	if _, ok := registry.Get(ChannelLog); !ok {
		t.Errorf("log channel not found")
	}
	if err := registry.Add(&LogChannel{Logger: logger}); err == nil {
		t.Errorf("second log channel: expected an error")
	}
}

func discardLogger() *logrus.Logger { return logging.Discard() }
