package activities

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/notify"
	"github.com/ordo-project/ordo/internal/store"
	"github.com/ordo-project/ordo/internal/tasklink"
)

// kindTemplates is the template of each task kind when a request names
// none.
var kindTemplates = map[string]string{
	TaskLeadReminder:      notify.TemplateLeadReminder,
	TaskLeadAlert:         notify.TemplateLeadAlert,
	TaskFollowUpReminder:  notify.TemplateFollowUpReminder,
	TaskFollowUpAlert:     notify.TemplateFollowUpAlert,
	TaskRenewal:           notify.TemplateRenewalTask,
	TaskRenewalEscalation: notify.TemplateRenewalEscalation,
	TaskTicket:            notify.TemplateTicketNew,
	TaskTicketEscalation:  notify.TemplateTicketEscalation,
	TaskApproval:          notify.TemplateApprovalRequest,
	TaskVerification:      notify.TemplateVerificationRequest,
	TaskCustomerSMS:       notify.TemplateRenewalSMS,
}

// markTimeout bounds the database write that records a sent notification.
const markTimeout = 10 * time.Second

// validateTaskRequest rejects a request that can never succeed and
// returns the template to render.
func validateTaskRequest(in *TaskRequest) (string, error) {
	var problems []string
	if strings.TrimSpace(in.Key) == "" {
		problems = append(problems, "key is required: build it from the workflow ID, the purpose and the deadline")
	}
	template, known := kindTemplates[in.Kind]
	if !known {
		problems = append(problems, fmt.Sprintf("kind %q is not a task kind of package activities", in.Kind))
	}
	if strings.TrimSpace(in.Assignee) == "" {
		problems = append(problems, "assignee is required")
	}
	if strings.TrimSpace(in.Subject) == "" {
		problems = append(problems, "subject is required, e.g. \"lead:ID\"")
	}
	if in.Template != "" {
		template = in.Template
	}
	if len(problems) > 0 {
		return "", invalidInput("open task %q: %s", in.Key, strings.Join(problems, "; "))
	}
	return template, nil
}

// insertTask inserts the task by key and sets its link, in one
// transaction, and loads the stored row into task.
func (a *TaskActivities) insertTask(ctx context.Context, task *store.Task) (bool, error) {
	inserted := false
	err := a.Store.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if inserted, err = store.InsertTask(ctx, tx, task); err != nil {
			return err
		}
		if task.Link != "" || a.BaseURL == "" {
			return nil
		}
		task.Link = a.taskLink(task)
		return store.SetTaskLink(ctx, tx, task.ID, task.Link)
	})
	return inserted, err
}

// taskLink returns the link that the task's notifications carry: the
// signed task page, or the API's JSON view of the task when no link
// secret is configured.
func (a *TaskActivities) taskLink(task *store.Task) string {
	if len(a.LinkSecret) == 0 {
		return strings.TrimRight(a.BaseURL, "/") + "/api/v1/tasks/" + strconv.FormatInt(task.ID, 10)
	}
	return tasklink.URL(a.BaseURL, a.LinkSecret, task.ID, task.Key)
}

// defaultChannels returns the channels of a request that names none.
func (a *TaskActivities) defaultChannels(kind string) []string {
	if kind == TaskCustomerSMS {
		return []string{notify.ChannelSMS, notify.ChannelLog}
	}
	if len(a.DefaultChannels) > 0 {
		return a.DefaultChannels
	}
	return []string{notify.ChannelEmail, notify.ChannelLog}
}

// sendNotification sends the task's notification through one channel
// unless an earlier attempt sent it or gave it up. It returns an error only
// for a failure that a retry may fix. params are the request's template
// params, for channels that send a provider's template instead of the text.
func (a *TaskActivities) sendNotification(ctx context.Context, log logrus.FieldLogger, task *store.Task, name string, params map[string]string) error {
	n := &store.Notification{
		TaskID: task.ID, Channel: name, Recipient: task.Assignee,
		Address: addressFor(name, task), Key: store.NotificationKey(task.Key, name),
	}
	if _, err := store.InsertNotification(ctx, a.Store.DB, n); err != nil {
		return err
	}
	if n.State != store.NotificationPending {
		return nil
	}
	log = log.WithFields(logrus.Fields{keyChannel: name, "notification_id": n.ID})

	channel, ok := a.Channels.Get(name)
	if !ok {
		reason := fmt.Sprintf("channel %q is not configured: configured channels are %s", name, strings.Join(a.Channels.Names(), ", "))
		log.Warn("notification not sent: " + reason)
		return a.markFailed(ctx, n.ID, reason)
	}
	if notify.IsPaced(channel) {
		// The outbox sends it at the channel's pace; the activity's slot
		// is free at once.
		if a.Outbox != nil {
			a.Outbox.Kick()
		}
		log.Debug("notification queued in the outbox of its paced channel")
		return nil
	}
	return a.deliver(ctx, log, channel, taskMessage(n, task, params), n, time.Time{})
}

// deliver sends msg, the pending notification n, through channel and
// records the outcome: sent, failed for good, or one more failed attempt
// held back until retryAt (not held back when retryAt is zero). It returns
// an error only for a failure that a retry may fix.
func (a *TaskActivities) deliver(ctx context.Context, log logrus.FieldLogger, channel notify.Channel, msg notify.Message, n *store.Notification, retryAt time.Time) error {
	receipt, err := channel.Send(ctx, msg)
	if err != nil && notify.IsPermanent(err) {
		log.WithError(err).Warn("notification failed permanently and will not be retried")
		return a.markFailed(ctx, n.ID, err.Error())
	}
	if err != nil {
		recordCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
		defer cancel()
		if ctx.Err() != nil {
			// Stopped by ordo, not failed: the next attempt starts afresh.
			if rerr := store.ReleaseNotification(recordCtx, a.Store.DB, n.ID); rerr != nil {
				log.WithError(rerr).Error("could not release the interrupted notification")
			}
			return fmt.Errorf("send %s notification %s: %w", n.Channel, n.Key, err)
		}
		log.WithError(err).Warn("notification failed and will be retried")
		if rerr := store.RecordNotificationAttempt(recordCtx, a.Store.DB, n.ID, err.Error(), retryAt); rerr != nil {
			log.WithError(rerr).Error("could not record the failed notification attempt")
		}
		return fmt.Errorf("send %s notification %s: %w", n.Channel, n.Key, err)
	}

	// The message has left. From here until the mark commits is the
	// window in which a crash makes the next attempt send it again.
	markCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
	defer cancel()
	if err := store.MarkNotificationSent(markCtx, a.Store.DB, n.ID, receipt.MessageID, store.Now()); err != nil {
		log.WithError(err).Error("notification sent but not marked sent: the next attempt sends it again with the same message id")
		return err
	}
	return nil
}

// taskMessage returns the message of notification n about task. params
// are the request's template params, for channels that send a provider's
// template instead of the text, and nil where the request is gone.
func taskMessage(n *store.Notification, task *store.Task, params map[string]string) notify.Message {
	return notify.Message{
		Key: n.Key, Recipient: task.Assignee, Address: n.Address,
		Title: task.Title, Body: task.Body, Link: task.Link, Due: task.DueAt,
		TaskKind: task.Kind, TaskSubject: task.Subject,
		Template: task.Template, Params: params,
	}
}

func (a *TaskActivities) markFailed(ctx context.Context, id int64, reason string) error {
	markCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
	defer cancel()
	return store.MarkNotificationFailed(markCtx, a.Store.DB, id, reason)
}

// addressFor returns where channel reaches the task's assignee.
func addressFor(channel string, task *store.Task) string {
	switch channel {
	case notify.ChannelEmail:
		return task.Email
	case notify.ChannelSMS:
		return task.Phone
	}
	return ""
}

// dedupe drops repeated channel names, keeping the first occurrence.
func dedupe(names []string) []string {
	unique := make([]string, 0, len(names))
	for _, name := range names {
		if !slices.Contains(unique, name) {
			unique = append(unique, name)
		}
	}
	return unique
}
