package app

import (
	"context"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/notify"
	"github.com/ordo-project/ordo/internal/notify/dingtalk"
	"github.com/ordo-project/ordo/internal/notify/feishu"
	"github.com/ordo-project/ordo/internal/simulators"
	dingtalksim "github.com/ordo-project/ordo/internal/simulators/dingtalk"
	feishusim "github.com/ordo-project/ordo/internal/simulators/feishu"
)

// addChatChannels registers the DingTalk and Feishu channels that are
// enabled. The secrets go only to the clients, never to a log.
func addChatChannels(channels *notify.Registry, cfg *config.Config, location *time.Location, logger *logrus.Logger) error {
	if d := cfg.Notify.DingTalk; d.Configured() {
		secret, err := d.AppSecret.Resolve()
		if err != nil {
			return fmt.Errorf("notify.dingtalk.app_secret: %w", err)
		}
		channel, err := dingtalk.NewChannel(dingtalk.ChannelConfig{
			Client: dingtalk.Config{
				BaseURL: d.BaseURL, AppKey: d.AppKey, AppSecret: secret, AgentID: d.AgentID,
				Timeout: d.Timeout, ResultWait: d.ResultWait,
			},
			Users: d.Users, ButtonText: d.ButtonText, Location: location,
		})
		if err != nil {
			return fmt.Errorf("notify.dingtalk: %w", err)
		}
		if err := channels.Add(channel); err != nil {
			return err
		}
	}
	if f := cfg.Notify.Feishu; f.Configured() {
		secret, err := f.AppSecret.Resolve()
		if err != nil {
			return fmt.Errorf("notify.feishu.app_secret: %w", err)
		}
		channel, err := feishu.NewChannel(feishu.ChannelConfig{
			Client: feishu.Config{
				BaseURL: f.BaseURL, AppID: f.AppID, AppSecret: secret, ReceiveIDType: f.ReceiveIDType,
				Timeout: f.Timeout, Logger: logger,
			},
			Users: f.Users, ButtonText: f.ButtonText, Location: location,
		})
		if err != nil {
			return fmt.Errorf("notify.feishu: %w", err)
		}
		if err := channels.Add(channel); err != nil {
			return err
		}
	}
	return nil
}

// startChat starts the DingTalk and Feishu simulators for the apps in
// notify.dingtalk and notify.feishu, when the app is enabled and its
// simulator too.
func (s *simulatorSet) startChat(ctx context.Context, cfg *config.Config, faults simulators.FaultConfig, logger *logrus.Logger) error {
	if d := cfg.Notify.DingTalk; d.Configured() && cfg.Sim.DingTalk.Enabled {
		secret, err := d.AppSecret.Resolve()
		if err != nil {
			return fmt.Errorf("notify.dingtalk.app_secret: %w", err)
		}
		s.dingtalk, err = dingtalksim.New(ctx, dingtalksim.Config{
			DB: s.db, Address: cfg.Sim.DingTalk.Address, AppKey: d.AppKey, AppSecret: secret, AgentID: d.AgentID,
			DeliveryDelay: cfg.Sim.DingTalk.DeliveryDelay, Faults: faults, Logger: logger,
		})
		if err != nil {
			return err
		}
		if err := s.dingtalk.Start(); err != nil {
			return portHint("simulators.dingtalk.address", err)
		}
	}
	if f := cfg.Notify.Feishu; f.Configured() && cfg.Sim.Feishu.Enabled {
		secret, err := f.AppSecret.Resolve()
		if err != nil {
			return fmt.Errorf("notify.feishu.app_secret: %w", err)
		}
		s.feishu, err = feishusim.New(ctx, feishusim.Config{
			DB: s.db, Address: cfg.Sim.Feishu.Address, AppID: f.AppID, AppSecret: secret, Faults: faults, Logger: logger,
		})
		if err != nil {
			return err
		}
		if err := s.feishu.Start(); err != nil {
			return portHint("simulators.feishu.address", err)
		}
	}
	return nil
}

// chatLedger adds what the DingTalk and Feishu simulators received to
// the dev ledger's reply.
func (s *simulatorSet) chatLedger(ctx context.Context, answer map[string]any) error {
	if s.dingtalk != nil {
		summary, err := s.dingtalk.Summary(ctx)
		if err != nil {
			return err
		}
		answer["dingtalk"] = summary
	}
	if s.feishu != nil {
		summary, err := s.feishu.Summary(ctx)
		if err != nil {
			return err
		}
		answer["feishu"] = summary
	}
	return nil
}

// closeChat stops the DingTalk and Feishu simulators.
func (s *simulatorSet) closeChat() {
	if s.dingtalk != nil {
		_ = s.dingtalk.Close()
	}
	if s.feishu != nil {
		_ = s.feishu.Close()
	}
}
