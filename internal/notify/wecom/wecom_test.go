package wecom_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ordo-project/ordo/internal/notify"
	"github.com/ordo-project/ordo/internal/notify/notifytest"
	"github.com/ordo-project/ordo/internal/notify/wecom"
	wecomsim "github.com/ordo-project/ordo/internal/simulators/wecom"
	"github.com/ordo-project/ordo/internal/sqlitedb/sqlitetest"
)

const (
	corpID  = "ww-test"
	secret  = "test-secret-do-not-log"
	agentID = 1000002
)

type fixture struct {
	sim     *wecomsim.Simulator
	channel *wecom.Channel
}

func start(t *testing.T, simConfig wecomsim.Config, rates ...wecom.Rate) *fixture {
	t.Helper()
	db := sqlitetest.Open(t)
	simConfig.DB, simConfig.CorpID, simConfig.Secret, simConfig.AgentID = db, corpID, secret, agentID
	sim, err := wecomsim.New(context.Background(), simConfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	channel, err := wecom.NewChannel(wecom.ChannelConfig{
		Client: wecom.Config{BaseURL: sim.URL(), CorpID: corpID, AgentID: agentID, Secret: secret, Timeout: 5 * time.Second, Rates: rates},
		Users:  map[string]string{"张伟": "zhangwei"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{sim: sim, channel: channel}
}

// message returns the renewal reminder of key. The key is part of the
// title, so WeCom's duplicate check does not drop one reminder as a
// repeat of another.
func message(key, recipient string) notify.Message {
	msg := notifytest.Message(key, recipient)
	msg.Title += " " + key
	return msg
}

func TestTokenSingleFlightUnderConcurrency(t *testing.T) {
	f := start(t, wecomsim.Config{})
	notifytest.SendConcurrently(t, f.channel, 40, func(i int) notify.Message {
		return message(fmt.Sprint("k", i), fmt.Sprint("user", i))
	})
	if n := f.channel.Client().TokenFetches(); n != 1 {
		t.Errorf("gettoken calls = %d, expected 1", n)
	}
	if n := f.sim.TokensIssued(); n != 1 {
		t.Errorf("tokens issued = %d, expected 1", n)
	}
}

func TestReplayOnInvalidToken(t *testing.T) {
	f := start(t, wecomsim.Config{})
	ctx := context.Background()
	if _, err := f.channel.Send(ctx, message("first", "张伟")); err != nil {
		t.Fatalf("first send: %v", err)
	}
	f.sim.InjectSendErrors(wecom.CodeInvalidToken, 1)
	receipt, err := f.channel.Send(ctx, message("second", "张伟"))
	if err != nil {
		t.Fatalf("send after 40014: %v", err)
	}
	if receipt.MessageID == "" {
		t.Error("receipt has no msgid")
	}
	if n := f.channel.Client().TokenFetches(); n != 2 {
		t.Errorf("gettoken calls = %d, expected 2 (one refresh after 40014)", n)
	}

	f.sim.ExpireTokens()
	if _, err := f.channel.Send(ctx, message("third", "张伟")); err != nil {
		t.Fatalf("send after 42001: %v", err)
	}
	if n := f.channel.Client().TokenFetches(); n != 3 {
		t.Errorf("gettoken calls = %d, expected 3 (one refresh after 42001)", n)
	}

	messages, err := f.sim.Messages(ctx, "zhangwei")
	if err != nil {
		t.Fatal(err)
	}
	if len(messages) != 3 {
		t.Errorf("messages to zhangwei = %d, expected 3", len(messages))
	}
}

func TestReplayOnlyOnce(t *testing.T) {
	f := start(t, wecomsim.Config{})
	f.sim.InjectSendErrors(wecom.CodeInvalidToken, 2)
	_, err := f.channel.Send(context.Background(), message("k", "张伟"))
	var apiErr *wecom.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != wecom.CodeInvalidToken {
		t.Fatalf("error = %v, expected errcode 40014 after one replay", err)
	}
	if notify.IsPermanent(err) {
		t.Error("a second 40014 is permanent, expected retryable")
	}
	if n := f.channel.Client().TokenFetches(); n != 2 {
		t.Errorf("gettoken calls = %d, expected 2", n)
	}
}

func TestBurstToOnePersonSpreadOverWindow(t *testing.T) {
	const window = 400 * time.Millisecond
	f := start(t, wecomsim.Config{Limit: 30, Window: window}, wecom.Rate{Limit: 30, Window: window})
	ctx := context.Background()
	began := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.channel.Send(ctx, message(fmt.Sprint("burst-", i), "张伟"))
			errs <- err
		}()
	}
	wg.Wait()
	elapsed := time.Since(began)
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("send: %v", err)
		}
	}

	summary, err := f.sim.Summary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if summary.Delivered != 100 || summary.DistinctDelivered != 100 {
		t.Errorf("delivered %d (%d distinct), expected 100", summary.Delivered, summary.DistinctDelivered)
	}
	if summary.RateLimited != 0 || summary.Dropped != 0 {
		t.Errorf("over the limit: %d rejected, %d dropped, expected none", summary.RateLimited, summary.Dropped)
	}
	// 100 messages at 30 per window need at least three full windows.
	if elapsed < 3*window {
		t.Errorf("burst took %s, expected at least %s", elapsed, 3*window)
	}
	messages, err := f.sim.Messages(ctx, "zhangwei")
	if err != nil {
		t.Fatal(err)
	}
	for i := 30; i < len(messages); i++ {
		if gap := messages[i].ReceivedAt.Sub(messages[i-30].ReceivedAt); gap < window {
			t.Fatalf("messages %d and %d arrived %s apart, expected at least %s", i-30, i, gap, window)
		}
	}
}

func TestSilentDropCountedWithoutLimiter(t *testing.T) {
	f := start(t, wecomsim.Config{Limit: 3, Window: time.Hour, SilentDrop: true}, wecom.Rate{Limit: 100, Window: time.Hour})
	ctx := context.Background()
	for i := range 5 {
		if _, err := f.channel.Send(ctx, message(fmt.Sprint("k", i), "张伟")); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	summary, err := f.sim.Summary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if summary.Delivered != 3 || summary.Dropped != 2 {
		t.Errorf("summary = %+v, expected 3 delivered and 2 dropped", summary)
	}
}

func TestPartialSuccessPerRecipient(t *testing.T) {
	f := start(t, wecomsim.Config{InvalidUsers: []string{"ghost"}})
	ctx := context.Background()
	result, err := f.channel.Client().SendTextCard(ctx, []string{"alice", "ghost"}, wecom.TextCard{Title: "t", Description: "d", URL: "http://127.0.0.1/x"})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if _, failed := result.Failed["alice"]; failed {
		t.Error("alice reported failed")
	}
	if reason := result.Failed["ghost"]; !strings.Contains(reason, "invaliduser") {
		t.Errorf("reason for ghost = %q, expected invaliduser", reason)
	}

	_, err = f.channel.Send(ctx, message("k", "ghost"))
	if !notify.IsPermanent(err) || !strings.Contains(err.Error(), "ghost") {
		t.Errorf("send to ghost: %v, expected a permanent failure naming ghost", err)
	}
	summary, err := f.sim.Summary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if summary.Delivered != 1 || summary.InvalidUser != 2 {
		t.Errorf("summary = %+v, expected 1 delivered and 2 invalid", summary)
	}
}

func TestBadSecretIsPermanentAndNotLogged(t *testing.T) {
	f := start(t, wecomsim.Config{})
	channel, err := wecom.NewChannel(wecom.ChannelConfig{Client: wecom.Config{BaseURL: f.sim.URL(), CorpID: corpID, AgentID: agentID, Secret: "wrong-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = channel.Send(context.Background(), message("k", "张伟"))
	if !notify.IsPermanent(err) {
		t.Fatalf("error = %v, expected permanent", err)
	}
	if n := channel.Client().TokenFetches(); n != 1 {
		t.Errorf("gettoken calls = %d, expected 1", n)
	}

	unreachable, err := wecom.NewChannel(wecom.ChannelConfig{Client: wecom.Config{BaseURL: "http://127.0.0.1:1", CorpID: corpID, AgentID: agentID, Secret: secret, Timeout: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = unreachable.Send(context.Background(), message("k", "张伟"))
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("error = %v, expected a failure without the secret", err)
	}
}

func TestDuplicateCheckSuppressesResend(t *testing.T) {
	f := start(t, wecomsim.Config{})
	ctx := context.Background()
	for range 2 {
		if _, err := f.channel.Send(ctx, message("same", "张伟")); err != nil {
			t.Fatal(err)
		}
	}
	summary, err := f.sim.Summary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if summary.Delivered != 1 || summary.DuplicateSuppressed != 1 {
		t.Errorf("summary = %+v, expected 1 delivered and 1 suppressed", summary)
	}
}
