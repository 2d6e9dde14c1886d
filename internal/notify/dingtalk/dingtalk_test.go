package dingtalk_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordo-project/ordo/internal/notify"
	"github.com/ordo-project/ordo/internal/notify/dingtalk"
	"github.com/ordo-project/ordo/internal/notify/notifytest"
	"github.com/ordo-project/ordo/internal/simulators"
	dingtalksim "github.com/ordo-project/ordo/internal/simulators/dingtalk"
	"github.com/ordo-project/ordo/internal/sqlitedb/sqlitetest"
)

const (
	appKey    = "ding-test"
	appSecret = "test-secret-do-not-log"
	agentID   = 2000001
)

type fixture struct {
	sim     *dingtalksim.Simulator
	channel *dingtalk.Channel
}

func start(t *testing.T, simConfig dingtalksim.Config, clientConfig dingtalk.Config) *fixture {
	t.Helper()
	db := sqlitetest.Open(t)
	simConfig.DB, simConfig.AppKey, simConfig.AppSecret, simConfig.AgentID = db, appKey, appSecret, agentID
	sim, err := dingtalksim.New(context.Background(), simConfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	clientConfig.BaseURL, clientConfig.AppKey, clientConfig.AgentID = sim.URL(), appKey, agentID
	if clientConfig.AppSecret == "" {
		clientConfig.AppSecret = appSecret
	}
	if clientConfig.Timeout == 0 {
		clientConfig.Timeout = 5 * time.Second
	}
	if clientConfig.PollInterval == 0 {
		clientConfig.PollInterval = 10 * time.Millisecond
	}
	channel, err := dingtalk.NewChannel(dingtalk.ChannelConfig{
		Client: clientConfig, Users: map[string]string{"张伟": "zhangwei"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{sim: sim, channel: channel}
}

func message(key, recipient string) notify.Message { return notifytest.Message(key, recipient) }

func summary(t *testing.T, sim *dingtalksim.Simulator) dingtalksim.Summary {
	t.Helper()
	s, err := sim.Summary(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sendWithRetries(t *testing.T, channel notify.Channel, msg notify.Message, attempts int) error {
	t.Helper()
	return notifytest.SendWithRetries(t, channel, msg, attempts, appSecret)
}

func TestSendsActionCardWithReference(t *testing.T) {
	f := start(t, dingtalksim.Config{}, dingtalk.Config{})
	receipt, err := f.channel.Send(context.Background(), message("task-1/dingtalk", "张伟"))
	if err != nil {
		t.Fatal(err)
	}
	if receipt.MessageID == "" {
		t.Error("receipt without the task id")
	}
	messages, err := f.sim.Messages(context.Background(), "zhangwei")
	if err != nil {
		t.Fatal(err)
	}
	if len(messages) != 1 {
		t.Fatalf("notices = %d, want 1", len(messages))
	}
	m := messages[0]
	if m.MsgType != "action_card" || m.URL != "http://127.0.0.1:8080/api/v1/tasks/1" || m.Outcome != dingtalksim.OutcomeDelivered {
		t.Errorf("notice = %+v, want a delivered action card linking to the task", m)
	}
	if !strings.Contains(m.Content, dingtalk.Reference("task-1/dingtalk")) || !strings.Contains(m.Content, "2026-12-05 10:00") {
		t.Errorf("content %q lacks the reference or the due time", m.Content)
	}
}

func TestMarkdownWithoutLink(t *testing.T) {
	f := start(t, dingtalksim.Config{}, dingtalk.Config{})
	msg := message("task-2/dingtalk", "lisi")
	msg.Link = ""
	if _, err := f.channel.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	messages, _ := f.sim.Messages(context.Background(), "lisi")
	if len(messages) != 1 || messages[0].MsgType != "markdown" {
		t.Fatalf("notices = %+v, want one markdown notice to lisi", messages)
	}
}

// A repeat of one notification is identical and DingTalk drops it; the
// channel counts it as delivered. Two notifications with the same text
// differ by their reference, so both arrive.
func TestSameContentRule(t *testing.T) {
	f := start(t, dingtalksim.Config{}, dingtalk.Config{})
	for range 2 {
		if _, err := f.channel.Send(context.Background(), message("task-3/dingtalk", "张伟")); err != nil {
			t.Fatalf("repeat: %v", err)
		}
	}
	if _, err := f.channel.Send(context.Background(), message("task-4/dingtalk", "张伟")); err != nil {
		t.Fatal(err)
	}
	s := summary(t, f.sim)
	if s.Delivered != 2 || s.DuplicateSuppressed != 1 || s.DuplicateCopies != 0 {
		t.Errorf("summary = %+v, want 2 delivered and the repeat suppressed", s)
	}
}

func TestFaultsLoseAndDuplicateNothing(t *testing.T) {
	kinds := []simulators.Fault{
		dingtalksim.FaultBusy, dingtalksim.FaultRateLimited, dingtalksim.FaultSilentDrop,
		simulators.FaultServerError, simulators.FaultThrottle, simulators.FaultLostReply,
	}
	for _, kind := range kinds {
		t.Run(string(kind), func(t *testing.T) {
			f := start(t, dingtalksim.Config{
				Faults: simulators.FaultConfig{Rate: 0.4, Kinds: []simulators.Fault{kind}, Seed: 7},
			}, dingtalk.Config{})
			const n = 8
			for i := range n {
				if err := sendWithRetries(t, f.channel, message(fmt.Sprintf("task-%d/dingtalk", i), "张伟"), 30); err != nil {
					t.Fatalf("notification %d: %v", i, err)
				}
			}
			s := summary(t, f.sim)
			if s.Delivered != n || s.DistinctDelivered != n || s.DuplicateCopies != 0 {
				t.Errorf("summary = %+v, want each of %d notifications delivered once", s, n)
			}
			if kind == simulators.FaultLostReply && s.DuplicateSuppressed == 0 {
				t.Errorf("summary = %+v: no lost reply led to a suppressed repeat", s)
			}
			if kind == dingtalksim.FaultSilentDrop && s.Dropped == 0 {
				t.Errorf("summary = %+v: no notice was dropped", s)
			}
		})
	}
}

func TestTimeoutIsRetryable(t *testing.T) {
	f := start(t, dingtalksim.Config{
		Faults: simulators.FaultConfig{Rate: 1, Kinds: []simulators.Fault{simulators.FaultTimeout}, Hang: 300 * time.Millisecond},
	}, dingtalk.Config{Timeout: 100 * time.Millisecond})
	_, err := f.channel.Send(context.Background(), message("task-t/dingtalk", "张伟"))
	if err == nil || notify.IsPermanent(err) {
		t.Fatalf("err = %v, want a retryable error", err)
	}
	f.sim.Injector().SetConfig(simulators.FaultConfig{})
	if err := sendWithRetries(t, f.channel, message("task-t/dingtalk", "张伟"), 3); err != nil {
		t.Fatal(err)
	}
	if s := summary(t, f.sim); s.Delivered != 1 {
		t.Errorf("summary = %+v, want one delivered", s)
	}
}

func TestTokenExpiryRefreshesOnce(t *testing.T) {
	f := start(t, dingtalksim.Config{}, dingtalk.Config{})
	if _, err := f.channel.Send(context.Background(), message("task-a/dingtalk", "张伟")); err != nil {
		t.Fatal(err)
	}
	f.sim.ExpireTokens()
	if _, err := f.channel.Send(context.Background(), message("task-b/dingtalk", "张伟")); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if got := f.channel.Client().TokenFetches(); got != 2 {
		t.Errorf("token fetches = %d, want 2", got)
	}
	f.sim.InjectSendErrors(dingtalk.CodeInvalidToken, 1)
	if _, err := f.channel.Send(context.Background(), message("task-c/dingtalk", "张伟")); err != nil {
		t.Fatalf("after 40014: %v", err)
	}
	f.sim.InjectSendErrors(dingtalk.CodeInvalidToken, 2)
	_, err := f.channel.Send(context.Background(), message("task-d/dingtalk", "张伟"))
	var apiErr *dingtalk.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != dingtalk.CodeInvalidToken || notify.IsPermanent(err) {
		t.Fatalf("err = %v, want a retryable 40014 after one replay", err)
	}
	if s := summary(t, f.sim); s.Delivered != 3 {
		t.Errorf("summary = %+v, want 3 delivered", s)
	}
}

func TestConcurrentSendsShareOneToken(t *testing.T) {
	f := start(t, dingtalksim.Config{}, dingtalk.Config{})
	notifytest.SendConcurrently(t, f.channel, 10, func(i int) notify.Message {
		return message(fmt.Sprintf("task-%d/dingtalk", i), fmt.Sprintf("user%d", i))
	})
	if got := f.channel.Client().TokenFetches(); got != 1 {
		t.Errorf("token fetches = %d, want 1", got)
	}
}

func TestPermanentFailures(t *testing.T) {
	f := start(t, dingtalksim.Config{InvalidUsers: []string{"ghost"}}, dingtalk.Config{})
	_, err := f.channel.Send(context.Background(), message("task-g/dingtalk", "ghost"))
	if !notify.IsPermanent(err) || !strings.Contains(err.Error(), "notify.dingtalk.users") {
		t.Errorf("invalid user: err = %v, want a permanent error naming notify.dingtalk.users", err)
	}
	_, err = f.channel.Send(context.Background(), notify.Message{Key: "k", Title: "t", Body: "b"})
	if !errors.Is(err, notify.ErrNoAddress) || !notify.IsPermanent(err) {
		t.Errorf("no recipient: err = %v, want a permanent ErrNoAddress", err)
	}

	bad := start(t, dingtalksim.Config{}, dingtalk.Config{AppSecret: "wrong-secret"})
	_, err = bad.channel.Send(context.Background(), message("task-s/dingtalk", "张伟"))
	if !notify.IsPermanent(err) || strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("bad secret: err = %v, want a permanent error without the secret", err)
	}
}

func TestDailyLimits(t *testing.T) {
	// The client refuses a send over its own count, retryably, so the
	// notice waits instead of being dropped.
	f := start(t, dingtalksim.Config{}, dingtalk.Config{DailyLimit: 2})
	for i := range 2 {
		if _, err := f.channel.Send(context.Background(), message(fmt.Sprintf("task-%d/dingtalk", i), "张伟")); err != nil {
			t.Fatal(err)
		}
	}
	_, err := f.channel.Send(context.Background(), message("task-9/dingtalk", "张伟"))
	if !errors.Is(err, dingtalk.ErrDailyLimit) || notify.IsPermanent(err) {
		t.Fatalf("third send: err = %v, want a retryable ErrDailyLimit", err)
	}
	if s := summary(t, f.sim); s.Delivered != 2 || s.OverLimit != 0 {
		t.Errorf("summary = %+v, want 2 delivered and nothing sent over the limit", s)
	}

	// When DingTalk drops a notice over its limit, the send result shows
	// it and the channel reports it instead of claiming delivery.
	g := start(t, dingtalksim.Config{DailyLimit: 1}, dingtalk.Config{})
	if _, err := g.channel.Send(context.Background(), message("task-1/dingtalk", "张伟")); err != nil {
		t.Fatal(err)
	}
	_, err = g.channel.Send(context.Background(), message("task-2/dingtalk", "张伟"))
	if !notify.IsPermanent(err) || !strings.Contains(err.Error(), "limit") {
		t.Errorf("over DingTalk's limit: err = %v, want a permanent error about the limit", err)
	}
}

func TestPendingResultThenRetry(t *testing.T) {
	f := start(t, dingtalksim.Config{DeliveryDelay: 300 * time.Millisecond}, dingtalk.Config{ResultWait: 50 * time.Millisecond})
	msg := message("task-p/dingtalk", "张伟")
	_, err := f.channel.Send(context.Background(), msg)
	if !errors.Is(err, dingtalk.ErrPending) || notify.IsPermanent(err) {
		t.Fatalf("err = %v, want a retryable ErrPending", err)
	}
	time.Sleep(400 * time.Millisecond)
	// The retry's identical notice is suppressed after the delay, and the
	// channel takes that as the first attempt's delivery.
	g, err := dingtalk.NewChannel(dingtalk.ChannelConfig{Client: dingtalk.Config{
		BaseURL: f.sim.URL(), AppKey: appKey, AppSecret: appSecret, AgentID: agentID,
		PollInterval: 50 * time.Millisecond, ResultWait: 2 * time.Second,
	}, Users: map[string]string{"张伟": "zhangwei"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Send(context.Background(), msg); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if s := summary(t, f.sim); s.Delivered != 1 || s.DuplicateSuppressed != 1 {
		t.Errorf("summary = %+v, want one delivered and the retry suppressed", s)
	}
}

func TestClientConfigErrors(t *testing.T) {
	_, err := dingtalk.NewClient(dingtalk.Config{BaseURL: "oapi.dingtalk.com", AppKey: "k", AppSecret: "s", AgentID: 1})
	if err == nil || !strings.Contains(err.Error(), "base URL") {
		t.Errorf("err = %v, want an invalid base URL", err)
	}
	_, err = dingtalk.NewClient(dingtalk.Config{AppKey: "k"})
	if err == nil || !strings.Contains(err.Error(), "app secret, agent id") {
		t.Errorf("err = %v, want the missing fields named", err)
	}
}

// fakeClock is a clock both the client and the simulator read; Sleep
// advances it.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(_ context.Context, d time.Duration) error {
	c.Advance(d)
	return nil
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestTokenRefreshedBeforeItExpires(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)}
	f := start(t, dingtalksim.Config{Clock: clock.Now}, dingtalk.Config{Clock: clock})
	if _, err := f.channel.Send(context.Background(), message("task-1/dingtalk", "张伟")); err != nil {
		t.Fatal(err)
	}
	// Past the client's refresh point (five minutes before the 7200 s
	// lifetime ends) but before the simulator's expiry.
	clock.Advance(7200*time.Second - 4*time.Minute)
	if _, err := f.channel.Send(context.Background(), message("task-2/dingtalk", "张伟")); err != nil {
		t.Fatal(err)
	}
	if got := f.channel.Client().TokenFetches(); got != 2 {
		t.Errorf("token fetches = %d, want 2: the client should refresh early", got)
	}
	if got := f.sim.TokensIssued(); got != 2 {
		t.Errorf("tokens issued = %d, want 2", got)
	}
}
