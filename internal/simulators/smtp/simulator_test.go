package smtp

import (
	"context"
	"fmt"
	"net/smtp"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ordo-project/ordo/internal/simulators"
	"github.com/ordo-project/ordo/internal/sqlitedb"
)

func startTestSink(t *testing.T, faults simulators.FaultConfig) *Simulator {
	t.Helper()
	db, err := sqlitedb.Open(filepath.Join(t.TempDir(), "simulators.db"), 1)
	if err != nil {
		t.Fatalf("open simulators database: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	sink, err := New(context.Background(), Config{DB: db, Faults: faults})
	if err != nil {
		t.Fatalf("new sink: %v", err)
	}
	if err := sink.Start(); err != nil {
		t.Fatalf("start sink: %v", err)
	}
	t.Cleanup(func() { _ = sink.Close() })
	return sink
}

// send delivers one message with the standard library's client.
func send(sink *Simulator, to, messageID, subject, body string) error {
	var header strings.Builder
	if messageID != "" {
		fmt.Fprintf(&header, "Message-ID: %s\r\n", messageID)
	}
	fmt.Fprintf(&header, "From: ordo@ordo.example\r\nTo: %s\r\nSubject: %s\r\n", to, subject)
	header.WriteString("Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	return smtp.SendMail(sink.Address(), nil, "ordo@ordo.example", []string{to}, []byte(header.String()+body+"\r\n"))
}

func TestSinkCountsDuplicates(t *testing.T) {
	sink := startTestSink(t, simulators.FaultConfig{})
	ctx := context.Background()
	for _, m := range []struct{ id, subject string }{
		{"<a@ordo.example>", "first"},
		{"<b@ordo.example>", "second"},
		{"<a@ordo.example>", "first again"},
		{"<a@ordo.example>", "first a third time"},
		{"", "no id"},
	} {
		if err := send(sink, "moses@example.com", m.id, m.subject, "text"); err != nil {
			t.Fatalf("send %q: %v", m.subject, err)
		}
	}

	summary, err := sink.Summary(ctx)
	if err != nil {
		t.Fatalf("summary: %v", err)
	}
	expected := MailSummary{Messages: 5, MessageIDs: 2, Duplicated: 1, DuplicateCopies: 2, WithoutID: 1}
	if summary != expected {
		t.Errorf("summary %+v, expected %+v", summary, expected)
	}
	copies, err := sink.Messages(ctx, "<a@ordo.example>")
	if err != nil {
		t.Fatalf("messages: %v", err)
	}
	if len(copies) != 3 {
		t.Errorf("%d copies of <a@ordo.example>, expected 3", len(copies))
	}
}

func TestSinkDecodesText(t *testing.T) {
	sink := startTestSink(t, simulators.FaultConfig{})
	subject := "=?UTF-8?q?=E7=BB=AD=E7=BA=A6?="
	if err := send(sink, "moses@example.com", "<q@ordo.example>", subject, "=E7=BB=AD=E7=BA=A6 soon"); err != nil {
		t.Fatalf("send: %v", err)
	}
	mails, err := sink.Messages(context.Background(), "")
	if err != nil || len(mails) != 1 {
		t.Fatalf("messages: %d, error %v; expected 1", len(mails), err)
	}
	if mails[0].Subject != "续约" {
		t.Errorf("subject %q, expected 续约", mails[0].Subject)
	}
	if !strings.HasPrefix(mails[0].Body, "续约 soon") {
		t.Errorf("body %q, expected the decoded text", mails[0].Body)
	}
}

func TestSinkFaults(t *testing.T) {
	t.Run("fault rate", func(t *testing.T) {
		sink := startTestSink(t, simulators.FaultConfig{Rate: 1})
		err := send(sink, "moses@example.com", "<f@ordo.example>", "s", "text")
		if err == nil || !strings.Contains(err.Error(), "451") {
			t.Errorf("error %v, expected a 451 reply", err)
		}
		summary, _ := sink.Summary(context.Background())
		if summary.Messages != 0 {
			t.Errorf("a refused message was stored: %+v", summary)
		}
	})

	t.Run("fail next", func(t *testing.T) {
		sink := startTestSink(t, simulators.FaultConfig{})
		sink.FailNext(1)
		if err := send(sink, "moses@example.com", "<n@ordo.example>", "s", "text"); err == nil {
			t.Errorf("first message: expected a 451 reply")
		}
		if err := send(sink, "moses@example.com", "<n@ordo.example>", "s", "text"); err != nil {
			t.Errorf("second message: %v", err)
		}
	})

	t.Run("lost reply", func(t *testing.T) {
		sink := startTestSink(t, simulators.FaultConfig{Rate: 1, Kinds: []simulators.Fault{simulators.FaultLostReply}})
		if err := send(sink, "moses@example.com", "<l@ordo.example>", "s", "text"); err == nil {
			t.Errorf("expected an error when the reply is lost")
		}
		summary, _ := sink.Summary(context.Background())
		if summary.Messages != 1 {
			t.Errorf("summary %+v: the message must be stored although the reply was lost", summary)
		}
	})

	t.Run("invalid domain", func(t *testing.T) {
		sink := startTestSink(t, simulators.FaultConfig{})
		err := send(sink, "nobody@example.invalid", "<i@ordo.example>", "s", "text")
		if err == nil || !strings.Contains(err.Error(), "550") {
			t.Errorf("error %v, expected a 550 reply", err)
		}
	})
}
