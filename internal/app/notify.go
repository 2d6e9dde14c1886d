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
	"github.com/ordo-project/ordo/internal/notify/sms"
	"github.com/ordo-project/ordo/internal/notify/wecom"
	"github.com/ordo-project/ordo/internal/store"
)

// notifySet is the configured notification channels and the renderer of
// their texts.
type notifySet struct {
	channels *notify.Registry
	renderer *notify.Renderer
	// sms is notify.sms with its secret resolved, until useStore builds
	// the channel.
	sms *sms.Config
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
	channels, err := notify.NewRegistry(email, &notify.LogChannel{Logger: logger})
	if err != nil {
		return notifySet{}, err
	}
	// The SMS channel needs ordo's database for its deduplication, so
	// useStore adds it; without a provider, SMS go to the log.
	if !cfg.Notify.SMS.Configured() {
		if err := channels.Add(&notify.SMSLogChannel{Logger: logger}); err != nil {
			return notifySet{}, err
		}
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
	set := notifySet{channels: channels, renderer: renderer}
	if cfg.Notify.SMS.Configured() {
		if set.sms, err = newSMSConfig(cfg.Notify.SMS, logger); err != nil {
			return notifySet{}, err
		}
	}
	return set, nil
}

// newSMSConfig builds the provider client of notify.sms. The secret goes
// only to the client, never to a log.
func newSMSConfig(cfg config.SMS, logger *logrus.Logger) (*sms.Config, error) {
	secret, err := cfg.AccessKeySecret.Resolve()
	if err != nil {
		return nil, fmt.Errorf("notify.sms.access_key_secret: %w", err)
	}
	httpConfig := sms.HTTPConfig{Timeout: cfg.Timeout}
	var provider sms.Provider
	switch cfg.Provider {
	case config.SMSProviderAliyun:
		provider, err = sms.NewAliyun(sms.AliyunConfig{
			BaseURL: cfg.BaseURL, AccessKeyID: cfg.AccessKeyID, AccessKeySecret: secret, RegionID: cfg.Region, HTTP: httpConfig,
		})
	case config.SMSProviderTencent:
		provider, err = sms.NewTencent(sms.TencentConfig{
			BaseURL: cfg.BaseURL, SecretID: cfg.AccessKeyID, SecretKey: secret, Region: cfg.Region, SDKAppID: cfg.SDKAppID, HTTP: httpConfig,
		})
	default:
		err = fmt.Errorf("unknown provider %q", cfg.Provider)
	}
	if err != nil {
		return nil, fmt.Errorf("notify.sms: %w", err)
	}
	templates := make(map[string]sms.Template, len(cfg.Templates))
	for name, template := range cfg.Templates {
		params := make([]sms.ParamSource, len(template.Params))
		for i, param := range template.Params {
			params[i] = sms.ParamSource{Name: param.Name, From: param.From}
		}
		templates[name] = sms.Template{ID: template.ID, Params: params}
	}
	return &sms.Config{
		Provider: provider, SignName: cfg.SignName, Templates: templates, ResolveAfter: cfg.ResolveAfter, Logger: logger,
	}, nil
}

// useStore adds the SMS channel of notify.sms, which keeps the SMS it sent
// in ordo's database, then wraps every channel in the connector metrics.
func (n *notifySet) useStore(st *store.Store) error {
	if n.sms != nil {
		cfg := *n.sms
		cfg.DB = st.DB
		channel, err := sms.NewChannel(cfg)
		if err != nil {
			return fmt.Errorf("notify.sms: %w", err)
		}
		if err := n.channels.Add(channel); err != nil {
			return err
		}
	}
	// Every channel is counted and timed as notify/<name>.
	instrumented, err := registry.InstrumentNotify(n.channels)
	if err != nil {
		return err
	}
	n.channels = instrumented
	return nil
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
		DefaultChannels: cfg.Notify.Channels, BaseURL: strings.TrimRight(cfg.API.PublicURL, "/"), LinkSecret: deps.linkSecret, Logger: logger,
	}
}
