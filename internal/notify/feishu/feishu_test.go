package feishu_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordo-project/ordo/internal/notify"
	"github.com/ordo-project/ordo/internal/notify/feishu"
	"github.com/ordo-project/ordo/internal/notify/notifytest"
	"github.com/ordo-project/ordo/internal/simulators"
	feishusim "github.com/ordo-project/ordo/internal/simulators/feishu"
	"github.com/ordo-project/ordo/internal/sqlitedb/sqlitetest"
)

const (
	appID     = "cli_test"
	appSecret = "test-secret-do-not-log"
)

type fixture struct {
	sim     *feishusim.Simulator
	channel *feishu.Channel
}

func start(t *testing.T, simConfig feishusim.Config, clientConfig feishu.Config) *fixture {
	t.Helper()
	db := sqlitetest.Open(t)
	simConfig.DB, simConfig.AppID, simConfig.AppSecret = db, appID, appSecret
	sim, err := feishusim.New(context.Background(), simConfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	clientConfig.BaseURL, clientConfig.AppID = sim.URL(), appID
	if clientConfig.AppSecret == "" {
		clientConfig.AppSecret = appSecret
	}
	if clientConfig.Timeout == 0 {
		clientConfig.Timeout = 5 * time.Second
	}
	channel, err := feishu.NewChannel(feishu.ChannelConfig{Client: clientConfig, Users: map[string]string{"张伟": "zhangwei"}})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{sim: sim, channel: channel}
}

func message(key, recipient string) notify.Message { return notifytest.Message(key, recipient) }

func summary(t *testing.T, sim *feishusim.Simulator) feishusim.Summary {
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

func TestSendsCardWithUUID(t *testing.T) {
	f := start(t, feishusim.Config{}, feishu.Config{})
	receipt, err := f.channel.Send(context.Background(), message("task-1/feishu", "张伟"))
	if err != nil {
		t.Fatal(err)
	}
	messages, err := f.sim.Messages(context.Background(), "zhangwei")
	if err != nil {
		t.Fatal(err)
	}
	if len(messages) != 1 {
		t.Fatalf("messages = %d, want 1", len(messages))
	}
	m := messages[0]
	if m.MsgType != "interactive" || m.URL != "http://127.0.0.1:8080/api/v1/tasks/1" || m.Title != "续约提醒" ||
		m.ReceiveIDType != "user_id" || m.UUID != feishu.UUID("task-1/feishu") || m.MessageID != receipt.MessageID {
		t.Errorf("message = %+v, receipt %+v: want a card linking to the task with the key's uuid", m, receipt)
	}
	if !strings.Contains(m.Content, "2026-12-05 10:00") {
		t.Errorf("content %q lacks the due time", m.Content)
	}
}

func TestPostWithoutLinkAndOpenID(t *testing.T) {
	f := start(t, feishusim.Config{}, feishu.Config{ReceiveIDType: feishu.ReceiveOpenID})
	msg := message("task-2/feishu", "ou_abc")
	msg.Link = ""
	if _, err := f.channel.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	messages, _ := f.sim.Messages(context.Background(), "ou_abc")
	if len(messages) != 1 || messages[0].MsgType != "post" || messages[0].ReceiveIDType != "open_id" {
		t.Fatalf("messages = %+v, want one post to open id ou_abc", messages)
	}
	var post map[string]any
	if err := json.Unmarshal([]byte(messages[0].Content), &post); err != nil || post["zh_cn"] == nil {
		t.Errorf("post content %q is not a zh_cn post: %v", messages[0].Content, err)
	}
}

func TestRepeatIsOneMessage(t *testing.T) {
	f := start(t, feishusim.Config{}, feishu.Config{})
	first, err := f.channel.Send(context.Background(), message("task-3/feishu", "张伟"))
	if err != nil {
		t.Fatal(err)
	}
	second, err := f.channel.Send(context.Background(), message("task-3/feishu", "张伟"))
	if err != nil {
		t.Fatal(err)
	}
	if first.MessageID != second.MessageID {
		t.Errorf("message ids %q and %q differ, want the first for the repeat", first.MessageID, second.MessageID)
	}
	if s := summary(t, f.sim); s.Delivered != 1 || s.UUIDRepeats != 1 {
		t.Errorf("summary = %+v, want one delivered and one uuid repeat", s)
	}
}

func TestFaultsLoseAndDuplicateNothing(t *testing.T) {
	kinds := []simulators.Fault{
		feishusim.FaultRateLimited, simulators.FaultServerError, simulators.FaultThrottle, simulators.FaultLostReply,
	}
	for _, kind := range kinds {
		t.Run(string(kind), func(t *testing.T) {
			f := start(t, feishusim.Config{
				Faults: simulators.FaultConfig{Rate: 0.4, Kinds: []simulators.Fault{kind}, Seed: 11},
			}, feishu.Config{})
			const n = 8
			for i := range n {
				if err := sendWithRetries(t, f.channel, message(fmt.Sprintf("task-%d/feishu", i), "张伟"), 30); err != nil {
					t.Fatalf("notification %d: %v", i, err)
				}
			}
			s := summary(t, f.sim)
			if s.Delivered != n || s.DistinctDelivered != n || s.DuplicateCopies != 0 {
				t.Errorf("summary = %+v, want each of %d notifications delivered once", s, n)
			}
			if kind == simulators.FaultLostReply && s.UUIDRepeats == 0 {
				t.Errorf("summary = %+v: no lost reply led to a uuid repeat", s)
			}
		})
	}
}

func TestTimeoutIsRetryable(t *testing.T) {
	f := start(t, feishusim.Config{
		Faults: simulators.FaultConfig{Rate: 1, Kinds: []simulators.Fault{simulators.FaultTimeout}, Hang: 300 * time.Millisecond},
	}, feishu.Config{Timeout: 100 * time.Millisecond})
	_, err := f.channel.Send(context.Background(), message("task-t/feishu", "张伟"))
	if err == nil || notify.IsPermanent(err) {
		t.Fatalf("err = %v, want a retryable error", err)
	}
	f.sim.Injector().SetConfig(simulators.FaultConfig{})
	if err := sendWithRetries(t, f.channel, message("task-t/feishu", "张伟"), 3); err != nil {
		t.Fatal(err)
	}
	if s := summary(t, f.sim); s.Delivered != 1 {
		t.Errorf("summary = %+v, want one delivered", s)
	}
}

func TestReceiverRateLimit(t *testing.T) {
	// Without the client's spacing the simulator rejects the sixth message
	// in a second with 230020, which is retryable.
	f := start(t, feishusim.Config{}, feishu.Config{PerUserRate: 1000})
	var limited error
	for i := range 8 {
		if _, err := f.channel.Send(context.Background(), message(fmt.Sprintf("task-%d/feishu", i), "张伟")); err != nil {
			limited = err
			break
		}
	}
	var apiErr *feishu.APIError
	if !errors.As(limited, &apiErr) || apiErr.Code != feishu.CodeMessageLimited || notify.IsPermanent(limited) {
		t.Fatalf("err = %v, want a retryable 230020", limited)
	}

	// With the default spacing of 5 a second, a burst arrives complete.
	g := start(t, feishusim.Config{}, feishu.Config{})
	for i := range 8 {
		if _, err := g.channel.Send(context.Background(), message(fmt.Sprintf("task-%d/feishu", i), "张伟")); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if s := summary(t, g.sim); s.Delivered != 8 || s.RateLimited != 0 {
		t.Errorf("summary = %+v, want 8 delivered and none rejected", s)
	}
}

func TestTokenExpiryRefreshesOnce(t *testing.T) {
	f := start(t, feishusim.Config{}, feishu.Config{})
	if _, err := f.channel.Send(context.Background(), message("task-a/feishu", "张伟")); err != nil {
		t.Fatal(err)
	}
	f.sim.ExpireTokens()
	if _, err := f.channel.Send(context.Background(), message("task-b/feishu", "张伟")); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if got := f.channel.Client().TokenFetches(); got != 2 {
		t.Errorf("token fetches = %d, want 2", got)
	}
	f.sim.InjectSendErrors(feishu.CodeTenantTokenInvalid, 2)
	_, err := f.channel.Send(context.Background(), message("task-c/feishu", "张伟"))
	var apiErr *feishu.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != feishu.CodeTenantTokenInvalid || notify.IsPermanent(err) {
		t.Fatalf("err = %v, want a retryable 99991663 after one replay", err)
	}
	if s := summary(t, f.sim); s.Delivered != 2 {
		t.Errorf("summary = %+v, want 2 delivered", s)
	}
}

func TestConcurrentSendsShareOneToken(t *testing.T) {
	f := start(t, feishusim.Config{}, feishu.Config{})
	notifytest.SendConcurrently(t, f.channel, 10, func(i int) notify.Message {
		return message(fmt.Sprintf("task-%d/feishu", i), fmt.Sprintf("user%d", i))
	})
	if got := f.channel.Client().TokenFetches(); got != 1 {
		t.Errorf("token fetches = %d, want 1", got)
	}
}

func TestPermanentFailures(t *testing.T) {
	f := start(t, feishusim.Config{InvalidUsers: []string{"ghost"}}, feishu.Config{})
	_, err := f.channel.Send(context.Background(), message("task-g/feishu", "ghost"))
	if !notify.IsPermanent(err) || !strings.Contains(err.Error(), "notify.feishu.users") {
		t.Errorf("invalid user: err = %v, want a permanent error naming notify.feishu.users", err)
	}
	_, err = f.channel.Send(context.Background(), notify.Message{Key: "k", Title: "t", Body: "b"})
	if !errors.Is(err, notify.ErrNoAddress) || !notify.IsPermanent(err) {
		t.Errorf("no recipient: err = %v, want a permanent ErrNoAddress", err)
	}
	bad := start(t, feishusim.Config{}, feishu.Config{AppSecret: "wrong-secret"})
	_, err = bad.channel.Send(context.Background(), message("task-s/feishu", "张伟"))
	if !notify.IsPermanent(err) || strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("bad secret: err = %v, want a permanent error without the secret", err)
	}
}

func TestClientConfigErrors(t *testing.T) {
	cases := []struct {
		cfg  feishu.Config
		want string
	}{
		{feishu.Config{BaseURL: "open.feishu.cn", AppID: "a", AppSecret: "s"}, "base URL"},
		{feishu.Config{AppID: "a"}, "app secret"},
		{feishu.Config{AppID: "a", AppSecret: "s", ReceiveIDType: "email"}, "receive id type"},
	}
	for _, tc := range cases {
		if _, err := feishu.NewClient(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewClient(%+v) = %v, want an error about %s", tc.cfg, err, tc.want)
		}
	}
}

func TestTokenRefreshedBeforeItExpires(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	f := start(t, feishusim.Config{Clock: clock}, feishu.Config{Now: clock})
	if _, err := f.channel.Send(context.Background(), message("task-1/feishu", "张伟")); err != nil {
		t.Fatal(err)
	}
	// Past the client's refresh point (five minutes before the 7200 s
	// lifetime ends) but before the simulator's expiry.
	mu.Lock()
	now = now.Add(7200*time.Second - 4*time.Minute)
	mu.Unlock()
	if _, err := f.channel.Send(context.Background(), message("task-2/feishu", "张伟")); err != nil {
		t.Fatal(err)
	}
	if got := f.channel.Client().TokenFetches(); got != 2 {
		t.Errorf("token fetches = %d, want 2: the client should refresh early", got)
	}
	if got := f.sim.TokensIssued(); got != 2 {
		t.Errorf("tokens issued = %d, want 2", got)
	}
}
