package activities

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/ordo-project/ordo/internal/notify"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/store/storetest"
	"github.com/ordo-project/ordo/internal/tasklink"
)

// TestOpenTaskSignedLink checks that with a link secret the task and its
// email carry the signed link of the task page.
func TestOpenTaskSignedLink(t *testing.T) {
	st := storetest.Open(t, "sqlite")
	f := newTaskFixture(t, st)
	secret := []byte("activities-test-link-secret")
	f.acts.LinkSecret = secret

	result, err := f.open(t, leadReminder("lead-SLA-1C1I7A6R/reminder/signed"))
	if err != nil {
		t.Fatalf("OpenTask: %v", err)
	}
	task, err := f.store.GetTask(context.Background(), result.TaskID)
	if err != nil {
		t.Fatalf("read task %d: %v", result.TaskID, err)
	}
	expected := "http://127.0.0.1:8080/t/" + strconv.FormatInt(task.ID, 10) + "?sig=" + tasklink.Sign(secret, task.ID, task.Key)
	if task.Link != expected {
		t.Errorf("link = %q, expected %q", task.Link, expected)
	}
	email := f.notifications(t, task.ID)[notify.ChannelEmail]
	if email.State != store.NotificationSent {
		t.Fatalf("email notification %+v, expected it sent", email)
	}
	mails, err := f.sink.Messages(context.Background(), email.MessageID)
	if err != nil || len(mails) != 1 {
		t.Fatalf("sink copies of the email: %d, error %v; expected 1", len(mails), err)
	}
	if !strings.Contains(mails[0].Body, expected) {
		t.Errorf("mail body %q lacks the link %s", mails[0].Body, expected)
	}
}
