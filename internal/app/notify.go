package app

import (
	"fmt"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/ordo-project/ordo/activities"
	"github.com/ordo-project/ordo/connectors/registry"
	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/notify"
	"github.com/ordo-project/ordo/internal/notify/wecom"
	"github.com/ordo-project/ordo/internal/store"
)

// notifySet is the configured notification channels and the renderer of
// their texts.
type notifySet struct {
	channels *notify.Registry
	renderer *notify.Renderer
}

// buildNotify builds every channel ordo has, so a task may name any of
// them, and the renderer of the configured locale.
func buildNotify(cfg *config.Config, logger *logrus.Logger) (notifySet, error) {
	password, err := cfg.Notify.SMTP.Password.Resolve()
	if err != nil {
		return notifySet{}, fmt.Errorf("notify.smtp.password: %w", err)
	}
	email, err := notify.NewEmailChannel(notify.EmailConfig{
		Address: cfg.Notify.SMTP.Address, From: cfg.Notify.SMTP.From,
		Username: cfg.Notify.SMTP.Username, Password: password,
		TLS: cfg.Notify.SMTP.TLS, Timeout: cfg.Notify.SMTP.Timeout,
	})
	if err != nil {
		return notifySet{}, fmt.Errorf("notify.smtp: %w", err)
	}
	channels, err := notify.NewRegistry(email, &notify.LogChannel{Logger: logger}, &notify.SMSLogChannel{Logger: logger})
	if err != nil {
		return notifySet{}, err
	}
	location, err := cfg.Notify.Location()
	if err != nil {
		return notifySet{}, err
	}
	if cfg.Notify.WeCom.Configured() {
		channel, err := newWeComChannel(cfg.Notify.WeCom, location)
		if err != nil {
			return notifySet{}, err
		}
		if err := channels.Add(channel); err != nil {
			return notifySet{}, err
		}
	}
	if err := addChatChannels(channels, cfg, location, logger); err != nil {
		return notifySet{}, err
	}
	renderer, err := notify.NewRenderer(cfg.Notify.Locale, location)
	if err != nil {
		return notifySet{}, fmt.Errorf("notify.locale: %w", err)
	}
	// Every channel added above is counted and timed as notify/<name>.
	instrumented, err := registry.InstrumentNotify(channels)
	if err != nil {
		return notifySet{}, err
	}
	return notifySet{channels: instrumented, renderer: renderer}, nil
}

// newWeComChannel builds the WeCom channel of notify.wecom. The secret
// goes only to the client, never to a log.
func newWeComChannel(cfg config.WeCom, location *time.Location) (*wecom.Channel, error) {
	secret, err := cfg.Secret.Resolve()
	if err != nil {
		return nil, fmt.Errorf("notify.wecom.secret: %w", err)
	}
	channel, err := wecom.NewChannel(wecom.ChannelConfig{
		Client: wecom.Config{
			BaseURL: cfg.BaseURL, CorpID: cfg.CorpID, AgentID: cfg.AgentID, Secret: secret, Timeout: cfg.Timeout,
		},
		Users: cfg.Users, ButtonText: cfg.ButtonText, Location: location,
	})
	if err != nil {
		return nil, fmt.Errorf("notify.wecom: %w", err)
	}
	return channel, nil
}

// newTaskActivities returns the task activities of the chains worker.
// Task links point at the API's public URL.
func newTaskActivities(cfg *config.Config, deps *connectorSet, st *store.Store, logger *logrus.Logger) *activities.TaskActivities {
	return &activities.TaskActivities{
		Store: st, Channels: deps.notify.channels, Renderer: deps.notify.renderer,
		DefaultChannels: cfg.Notify.Channels, BaseURL: strings.TrimRight(cfg.API.PublicURL, "/"), Logger: logger,
	}
}
