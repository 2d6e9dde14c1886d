package config

import (
	"time"

	"github.com/shopspring/decimal"
)

// Simulators configures the simulated outside systems `ordo dev` starts.
type Simulators struct {
	// Enabled starts the simulators; ordo dev turns it on.
	Enabled  bool        `yaml:"enabled"`
	Kingdee  SimKingdee  `yaml:"kingdee"`
	EInvoice SimEInvoice `yaml:"einvoice"`
	Bank     SimBank     `yaml:"bank"`
	SMTP     SimSMTP     `yaml:"smtp"`
	WeCom    SimWeCom    `yaml:"wecom"`
	RestERP  SimRestERP  `yaml:"resterp"`
	DingTalk SimDingTalk `yaml:"dingtalk"`
	Feishu   SimFeishu   `yaml:"feishu"`
	SAPB1    SimSAPB1    `yaml:"sapb1"`
	SMS      SimSMS      `yaml:"sms"`
	// FaultRate is the probability, 0 to 1, that a simulator request fails
	// with one of the simulator's faults.
	FaultRate float64 `yaml:"fault_rate"`
}

// SimKingdee configures the ERP simulator.
type SimKingdee struct {
	Address string `yaml:"address"`
	// ProductionDelay is how long a production order takes to complete.
	ProductionDelay time.Duration `yaml:"production_delay"`
	// Callback sends a signed completion callback to ordo's API.
	Callback bool `yaml:"callback"`
	// FaultRate overrides simulators.fault_rate for this simulator when
	// above 0, so a run can fault the ERP alone.
	FaultRate float64 `yaml:"fault_rate"`
}

// SimEInvoice configures the e-invoice simulator.
type SimEInvoice struct {
	Address    string        `yaml:"address"`
	IssueDelay time.Duration `yaml:"issue_delay"`
	Callback   bool          `yaml:"callback"`
}

// SimRestERP configures the home-grown ERP simulator the erp/rest
// connector talks to under ordo dev. It starts only when erp.connector
// selects erp/rest, and accepts the bearer token of erp.rest.auth.
type SimRestERP struct {
	Enabled bool   `yaml:"enabled"`
	Address string `yaml:"address"`
}

// SimBank configures the bank simulator and the simulated customers.
type SimBank struct {
	Address      string        `yaml:"address"`
	PaymentDelay time.Duration `yaml:"payment_delay"`
}

// Default returns the configuration `ordo dev` runs with when no file is
// given: loopback addresses, SQLite, the simulators and the sample data's
// currency.
func Default() *Config {
	return &Config{
		Currency:  "USD",
		TaskQueue: "ordo",
		Temporal: Temporal{
			Address:          "127.0.0.1:7233",
			Namespace:        "default",
			SearchAttributes: true,
		},
		Database: Database{Driver: "sqlite", MaxConns: 1},
		API: API{
			Address:          "127.0.0.1:8080",
			WebhookTolerance: 5 * time.Minute,
			PublicURL:        "http://127.0.0.1:8080",
		},
		Tax: Tax{
			// Rates as announced by the Ministry of Finance and the State
			// Taxation Administration (announcement 2019 No. 39): 13% for
			// goods, 9% and 6% for some services.
			Rates: []TaxRate{
				{Category: "goods", Rate: decimal.RequireFromString("0.17"), From: date(1994, 1, 1)},
				{Category: "goods", Rate: decimal.RequireFromString("0.16"), From: date(2018, 5, 1)},
				{Category: "goods", Rate: decimal.RequireFromString("0.13"), From: date(2019, 4, 1)},
				{Category: "transport", Rate: decimal.RequireFromString("0.09"), From: date(2019, 4, 1)},
				{Category: "services", Rate: decimal.RequireFromString("0.06"), From: date(2016, 5, 1)},
			},
			Products: map[string]ProductTax{
				// NOTE: the sample catalogue has no official classification
				// codes. This code is a placeholder of the right shape; a site
				// sets each product's code from the tax authority's catalogue.
				"default": {Code: "1090511990000000000", Category: "goods", InvoiceName: "计算机设备", Unit: "台"},
			},
		},
		Invoice: Invoice{
			Kind: "82", SellerName: "ordo 演示公司", SellerTaxID: "91310000MA1FL00000",
			// NOTE: a sample rate so the USD demo data can be invoiced; a site
			// enters the central parity rates its finance team books with.
			ExchangeRates: []ExchangeRate{{Currency: "USD", Rate: decimal.RequireFromString("7.1"), From: date(2015, 1, 1)}},
		},
		Payment: Payment{
			Plan: []Instalment{
				{Label: "advance", Trigger: "signing", Ratio: decimal.RequireFromString("0.3")},
				{Label: "balance", Trigger: "delivery", Ratio: decimal.RequireFromString("0.7")},
			},
			PollInterval: 2 * time.Second,
			PageSize:     200,
		},
		Chain: Chain{
			ProductionPollInitial: 10 * time.Second,
			ProductionPollMax:     30 * time.Minute,
			InvoicePollInitial:    5 * time.Second,
			InvoicePollMax:        10 * time.Minute,
			ActivityTimeout:       30 * time.Second,
			RetryMaxAttempts:      8,
			RetryMaxInterval:      time.Minute,
			LocalActivities:       true,
		},
		Worker: Worker{
			MaxConcurrentActivities:    500,
			MaxConcurrentWorkflowTasks: 500,
			ActivityPollers:            8,
			WorkflowPollers:            16,
			MaxCachedWorkflows:         1000,
		},
		ERP: ERP{
			Connector: "kingdee",
			BaseURL:   "http://127.0.0.1:8091/k3cloud/",
			AcctID:    "ordo-demo",
			OrgNumber: "100",
			User:      "ordo",
			Password:  Credential{Value: "ordo-dev-password"},
			Timeout:   15 * time.Second,
			MaxConns:  64,
		},
		EInvoice: EInvoice{
			Connector: "einvoice/platform",
			BaseURL:   "http://127.0.0.1:8092",
			AppKey:    "ordo-dev",
			AppSecret: Credential{Value: "ordo-dev-einvoice-secret"},
			Timeout:   15 * time.Second,
			MaxConns:  64,
		},
		Bank: Bank{
			Connector:    "bank/statement",
			BaseURL:      "http://127.0.0.1:8093",
			AccountNo:    "31050161373600000001",
			ClientID:     "ordo-dev",
			ClientSecret: Credential{Value: "ordo-dev-bank-secret"},
			Timeout:      15 * time.Second,
		},
		Sim: Simulators{
			Kingdee:  SimKingdee{Address: "127.0.0.1:8091", ProductionDelay: 3 * time.Second, Callback: true},
			EInvoice: SimEInvoice{Address: "127.0.0.1:8092", IssueDelay: time.Second, Callback: true},
			Bank:     SimBank{Address: "127.0.0.1:8093", PaymentDelay: 2 * time.Second},
			SMTP:     SimSMTP{Enabled: true, Address: "127.0.0.1:2525"},
			WeCom:    SimWeCom{Enabled: true, Address: "127.0.0.1:8094"},
			RestERP:  SimRestERP{Enabled: true, Address: "127.0.0.1:8098"},
			DingTalk: SimDingTalk{Enabled: true, Address: "127.0.0.1:8095", DeliveryDelay: 200 * time.Millisecond},
			Feishu:   SimFeishu{Enabled: true, Address: "127.0.0.1:8096"},
			SMS:      SimSMS{Enabled: true, Address: "127.0.0.1:8097", DailyLimit: 50},
		},
		Notify: Notify{
			Locale:   "zh-CN",
			TimeZone: "Asia/Shanghai",
			// ordo dev notifies through WeCom too, so renewal and SLA
			// notifications reach its simulator. A configuration for a
			// real site sets the channels it has.
			Channels: []string{"email", "wecom", "log"},
			SMTP:     SMTP{Address: "127.0.0.1:2525", From: "ordo <ordo@localhost>", TLS: "none", Timeout: 15 * time.Second},
			WeCom: WeCom{
				BaseURL: "http://127.0.0.1:8094", CorpID: "ordo-dev", AgentID: 1000002,
				Secret: Credential{Value: "ordo-dev-wecom-secret"}, Timeout: 15 * time.Second,
			},
			// DingTalk and Feishu are off; enabling one starts its
			// simulator in ordo dev with these credentials.
			DingTalk: DingTalk{
				BaseURL: "http://127.0.0.1:8095", AppKey: "ordo-dev", AgentID: 2000001,
				AppSecret: Credential{Value: "ordo-dev-dingtalk-secret"}, Timeout: 15 * time.Second, ResultWait: 30 * time.Second,
			},
			Feishu: Feishu{
				BaseURL: "http://127.0.0.1:8096", AppID: "cli_ordo_dev", ReceiveIDType: "user_id",
				AppSecret: Credential{Value: "ordo-dev-feishu-secret"}, Timeout: 15 * time.Second,
			},
			// ordo dev sends renewal SMS to its simulator, which approves
			// this signature and template.
			SMS: SMS{
				Provider: SMSProviderAliyun, BaseURL: "http://127.0.0.1:8097", AccessKeyID: "ordo-dev",
				AccessKeySecret: Credential{Value: "ordo-dev-sms-secret"}, SignName: "ordo",
				Templates: map[string]SMSTemplate{
					"renewal_sms": {ID: "SMS_ORDO_RENEWAL", Params: []SMSParam{{From: "customer"}, {From: "contract_no"}, {From: "end_date"}}},
				},
				Timeout: 10 * time.Second, ResolveAfter: 2 * time.Minute,
			},
		},
		Log:     Log{Level: "info", Format: "text"},
		Metrics: Metrics{Enabled: true},
	}
}

func date(year int, month time.Month, day int) Date {
	return Date{time.Date(year, month, day, 0, 0, 0, 0, time.UTC)}
}
