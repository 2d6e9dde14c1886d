package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/api"
	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/simulators"
	banksim "github.com/ordo-project/ordo/internal/simulators/bank"
	dingtalksim "github.com/ordo-project/ordo/internal/simulators/dingtalk"
	einvoicesim "github.com/ordo-project/ordo/internal/simulators/einvoice"
	feishusim "github.com/ordo-project/ordo/internal/simulators/feishu"
	kingdeesim "github.com/ordo-project/ordo/internal/simulators/kingdee"
	resterpsim "github.com/ordo-project/ordo/internal/simulators/resterp"
	sapb1sim "github.com/ordo-project/ordo/internal/simulators/sapb1"
	smssim "github.com/ordo-project/ordo/internal/simulators/sms"
	smtpsim "github.com/ordo-project/ordo/internal/simulators/smtp"
	wecomsim "github.com/ordo-project/ordo/internal/simulators/wecom"
	"github.com/ordo-project/ordo/internal/sqlitedb"
)

// SimulatorsFile is the SQLite file all simulators share in the data dir.
const SimulatorsFile = "simulators.db"

// simulatorSet is the running simulators of ordo dev.
type simulatorSet struct {
	db       *bun.DB
	ledger   *simulators.Ledger
	bank     *banksim.Simulator
	einvoice *einvoicesim.Simulator
	kingdee  *kingdeesim.Simulator
	smtp     *smtpsim.Simulator
	wecom    *wecomsim.Simulator
	resterp  *resterpsim.Simulator
	dingtalk *dingtalksim.Simulator
	feishu   *feishusim.Simulator
	sapb1    *sapb1sim.Simulator
	sms      *smssim.Simulator
}

// startSimulators starts the bank first, because it is the simulated
// world the other two report to, then the e-invoice service and the ERP.
// Callbacks go to ordo's API at apiURL, signed with secret.
func startSimulators(ctx context.Context, cfg *config.Config, dataDir, apiURL, secret string, logger *logrus.Logger) (*simulatorSet, error) {
	db, err := sqlitedb.Open(filepath.Join(dataDir, SimulatorsFile), 1)
	if err != nil {
		return nil, err
	}
	set := &simulatorSet{db: db, ledger: simulators.NewLedger(db)}
	if err := set.ledger.Migrate(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	faults := simulators.FaultConfig{Rate: cfg.Sim.FaultRate, Latency: 0}
	secretOf := func(c config.Credential) (string, error) { return c.Resolve() }

	bankSecret, err := secretOf(cfg.Bank.ClientSecret)
	if err != nil {
		return nil, set.closeWith(fmt.Errorf("bank client secret: %w", err))
	}
	behaviour := banksim.DefaultBehaviour()
	delay := cfg.Sim.Bank.PaymentDelay
	behaviour.AdvanceDelay, behaviour.BalanceDelay, behaviour.PartialGap = delay, delay, delay
	behaviour.CombineWindow = 5 * delay
	set.bank, err = banksim.New(ctx, banksim.Config{
		DB: db, Address: cfg.Sim.Bank.Address, ClientID: cfg.Bank.ClientID, ClientSecret: bankSecret,
		AccountNo: cfg.Bank.AccountNo, Behaviour: &behaviour, Faults: faults, Logger: logger,
		PollInterval: 200 * time.Millisecond,
	})
	if err != nil {
		return nil, set.closeWith(err)
	}
	if err := set.bank.Start(ctx); err != nil {
		return nil, set.closeWith(portHint("simulators.bank.address", err))
	}

	invoiceSecret, err := secretOf(cfg.EInvoice.AppSecret)
	if err != nil {
		return nil, set.closeWith(fmt.Errorf("e-invoice app secret: %w", err))
	}
	invoiceConfig := einvoicesim.Config{
		DB: db, Address: cfg.Sim.EInvoice.Address, AppKey: cfg.EInvoice.AppKey, AppSecret: invoiceSecret,
		IssueDelay: cfg.Sim.EInvoice.IssueDelay, PollInterval: 100 * time.Millisecond,
		Faults: faults, World: set.bank, Logger: logger,
	}
	if cfg.Sim.EInvoice.Callback {
		invoiceConfig.CallbackURL = apiURL + "/api/v1/callbacks/einvoice"
		invoiceConfig.CallbackSecret = secret
	}
	set.einvoice, err = einvoicesim.New(ctx, invoiceConfig)
	if err != nil {
		return nil, set.closeWith(err)
	}
	if err := set.einvoice.Start(ctx); err != nil {
		return nil, set.closeWith(portHint("simulators.einvoice.address", err))
	}

	password, err := secretOf(cfg.ERP.Password)
	if err != nil {
		return nil, set.closeWith(fmt.Errorf("ERP password: %w", err))
	}
	erpFaults := faults
	if cfg.Sim.Kingdee.FaultRate > 0 {
		erpFaults.Rate = cfg.Sim.Kingdee.FaultRate
	}
	injector, err := simulators.NewInjector(erpFaults, kingdeesim.DefaultFaults...)
	if err != nil {
		return nil, set.closeWith(err)
	}
	erpConfig := kingdeesim.Config{
		DB: db, Logger: logger, World: set.bank, Faults: injector,
		AccountID: cfg.ERP.AcctID, Username: cfg.ERP.User, Password: password,
		CompletionDelay: cfg.Sim.Kingdee.ProductionDelay, PollInterval: 200 * time.Millisecond,
	}
	if cfg.Sim.Kingdee.Callback {
		erpConfig.CallbackURL = apiURL + "/api/v1/callbacks/erp/production"
		erpConfig.CallbackSecret = secret
	}
	set.kingdee, err = kingdeesim.New(erpConfig)
	if err != nil {
		return nil, set.closeWith(err)
	}
	if _, err := set.kingdee.Start(cfg.Sim.Kingdee.Address); err != nil {
		return nil, set.closeWith(portHint("simulators.kingdee.address", err))
	}

	if cfg.Sim.SMTP.Enabled {
		set.smtp, err = smtpsim.New(ctx, smtpsim.Config{DB: db, Address: cfg.Sim.SMTP.Address, Faults: faults, Logger: logger})
		if err != nil {
			return nil, set.closeWith(err)
		}
		if err := set.smtp.Start(); err != nil {
			return nil, set.closeWith(portHint("simulators.smtp.address", err))
		}
	}
	if err := set.startWeCom(ctx, cfg, faults, logger); err != nil {
		return nil, set.closeWith(err)
	}
	if err := set.startRestERP(ctx, cfg, faults, logger); err != nil {
		return nil, set.closeWith(err)
	}
	if err := set.startChat(ctx, cfg, faults, logger); err != nil {
		return nil, set.closeWith(err)
	}
	if err := set.startSAPB1(ctx, cfg, faults, logger); err != nil {
		return nil, set.closeWith(err)
	}
	if err := set.startSMS(ctx, cfg, faults, logger); err != nil {
		return nil, set.closeWith(err)
	}
	return set, nil
}

// startWeCom starts the WeCom simulator for the app in notify.wecom, when
// the simulator is enabled and the app configured.
func (s *simulatorSet) startWeCom(ctx context.Context, cfg *config.Config, faults simulators.FaultConfig, logger *logrus.Logger) error {
	if !cfg.Sim.WeCom.Enabled || !cfg.Notify.WeCom.Configured() {
		return nil
	}
	secret, err := cfg.Notify.WeCom.Secret.Resolve()
	if err != nil {
		return fmt.Errorf("notify.wecom.secret: %w", err)
	}
	s.wecom, err = wecomsim.New(ctx, wecomsim.Config{
		DB: s.db, Address: cfg.Sim.WeCom.Address, CorpID: cfg.Notify.WeCom.CorpID, Secret: secret,
		AgentID: cfg.Notify.WeCom.AgentID, SilentDrop: cfg.Sim.WeCom.SilentDrop, Faults: faults, Logger: logger,
	})
	if err != nil {
		return err
	}
	return portHint("simulators.wecom.address", s.wecom.Start())
}

// startSMS starts the SMS simulator for the provider in notify.sms, when
// the simulator is enabled and SMS are configured. It accepts that
// provider's credentials, signature and templates, with one parameter
// per configured param: named for Aliyun, numbered for Tencent.
func (s *simulatorSet) startSMS(ctx context.Context, cfg *config.Config, faults simulators.FaultConfig, logger *logrus.Logger) error {
	n := cfg.Notify.SMS
	if !cfg.Sim.SMS.Enabled || !n.Configured() {
		return nil
	}
	secret, err := n.AccessKeySecret.Resolve()
	if err != nil {
		return fmt.Errorf("notify.sms.access_key_secret: %w", err)
	}
	templates := make(map[string]smssim.Template, len(n.Templates))
	for _, template := range n.Templates {
		names := make([]string, len(template.Params))
		for i, param := range template.Params {
			names[i] = param.Name
			if names[i] == "" {
				names[i] = param.From
			}
			if n.Provider == config.SMSProviderTencent {
				names[i] = strconv.Itoa(i + 1)
			}
		}
		templates[template.ID] = smssim.Template{Params: names}
	}
	simConfig := smssim.Config{
		DB: s.db, Address: cfg.Sim.SMS.Address, SignNames: []string{n.SignName}, Templates: templates,
		DailyLimit: cfg.Sim.SMS.DailyLimit, Faults: faults, Logger: logger,
	}
	if n.Provider == config.SMSProviderTencent {
		simConfig.SecretID, simConfig.SecretKey, simConfig.SDKAppID = n.AccessKeyID, secret, n.SDKAppID
	} else {
		simConfig.AccessKeyID, simConfig.AccessKeySecret = n.AccessKeyID, secret
	}
	s.sms, err = smssim.New(ctx, simConfig)
	if err != nil {
		return err
	}
	return portHint("simulators.sms.address", s.sms.Start())
}

// ledgerHandler serves the ledger summary for `ordo dev ledger`: the
// documents per kind and, when the SMTP sink and the WeCom and SMS simulators run,
// the mail, the WeCom messages and the SMS they received.
func (s *simulatorSet) ledgerHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		counts, err := s.ledger.Summary(r.Context())
		if err != nil {
			api.WriteError(w, http.StatusInternalServerError, "internal", "read the simulator ledger: "+err.Error())
			return
		}
		answer := map[string]any{"kinds": counts}
		if s.smtp != nil {
			mail, err := s.smtp.Summary(r.Context())
			if err != nil {
				api.WriteError(w, http.StatusInternalServerError, "internal", "read the simulator ledger: "+err.Error())
				return
			}
			answer["mail"] = mail
		}
		if s.wecom != nil {
			messages, err := s.wecom.Summary(r.Context())
			if err != nil {
				api.WriteError(w, http.StatusInternalServerError, "internal", "read the simulator ledger: "+err.Error())
				return
			}
			answer["wecom"] = messages
		}
		if err := s.chatLedger(r.Context(), answer); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if s.sms != nil {
			messages, err := s.sms.Summary(r.Context())
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			answer["sms"] = messages
		}
		writeJSON(w, answer)
	})
}

// portHint adds the setting that moves a simulator to err when its port is
// taken, because the listen error alone names only the address.
func portHint(key string, err error) error {
	if err != nil && errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%w: another process uses this port; stop it or set %s to a free address", err, key)
	}
	return err
}

func (s *simulatorSet) closeWith(err error) error {
	_ = s.Close()
	return err
}

// Close stops the SMS and WeCom simulators and the SMTP sink, then the ERP and e-invoice simulators before
// the bank, because they report to it, and closes the shared database.
func (s *simulatorSet) Close() error {
	if s.resterp != nil {
		_ = s.resterp.Close()
	}
	s.closeChat()
	if s.sms != nil {
		_ = s.sms.Close()
	}
	if s.wecom != nil {
		_ = s.wecom.Close()
	}
	if s.smtp != nil {
		_ = s.smtp.Close()
	}
	if s.sapb1 != nil {
		_ = s.sapb1.Close()
	}
	if s.kingdee != nil {
		_ = s.kingdee.Close()
	}
	if s.einvoice != nil {
		_ = s.einvoice.Close()
	}
	if s.bank != nil {
		_ = s.bank.Close()
	}
	return s.db.Close()
}
