package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/ordo-project/ordo/internal/apiclient"
	"github.com/ordo-project/ordo/internal/config"
	smssim "github.com/ordo-project/ordo/internal/simulators/sms"
	"github.com/ordo-project/ordo/internal/store"
)

// smsLedger returns the SMS simulator's summary from the dev ledger.
func smsLedger(t *testing.T, c *apiclient.Client) smssim.Summary {
	t.Helper()
	var ledger struct {
		SMS *smssim.Summary `json:"sms"`
	}
	if err := c.Get(context.Background(), "/api/v1/dev/ledger", nil, &ledger); err != nil {
		t.Fatalf("read the dev ledger: %v", err)
	}
	if ledger.SMS == nil {
		t.Fatalf("the dev ledger has no SMS summary: is the SMS simulator running?")
	}
	return *ledger.SMS
}

// TestRenewalSMSOnStack checks that ordo dev sends the renewal SMS to the
// SMS simulator once, with the default Aliyun protocol and with Tencent's,
// and that a restart sends no second one.
func TestRenewalSMSOnStack(t *testing.T) {
	providers := map[string]func(cfg *config.Config){
		config.SMSProviderAliyun: nil,
		config.SMSProviderTencent: func(cfg *config.Config) {
			cfg.Notify.SMS.Provider = config.SMSProviderTencent
			cfg.Notify.SMS.SDKAppID = "1400006666"
			cfg.Notify.SMS.Templates["renewal_sms"] = config.SMSTemplate{
				ID: "1234567", Params: []config.SMSParam{{From: "contract_no"}, {From: "end_date"}},
			}
		},
	}
	for provider, configure := range providers {
		t.Run(provider, func(t *testing.T) {
			s := startStack(t, stackOptions{LocalActivities: true, Configure: configure})
			no := "CT-RENEWSMS"
			event := sampleEvent(no, 3)
			event.EndDate = time.Now().AddDate(0, 0, 10).Format(time.DateOnly)
			event.Account.ContactPhone = "13800138000"
			postSignedEvent(t, s.APIURL, s.Secret, event)
			waitRenewal(t, s, no, store.RenewalReminded)

			waitFor(t, "renewal SMS delivered", func() bool { return smsLedger(t, s.API).Delivered >= 1 })
			summary := smsLedger(t, s.API)
			if summary.Delivered != 1 || summary.DuplicateCopies != 0 {
				t.Fatalf("SMS ledger %+v, expected one delivered SMS and no duplicates", summary)
			}

			s.Stop()
			s.Start()
			time.Sleep(2 * time.Second)
			if summary := smsLedger(t, s.API); summary.Delivered != 1 || summary.DuplicateCopies != 0 {
				t.Errorf("SMS ledger after a restart %+v, expected the one SMS only", summary)
			}
		})
	}
}
