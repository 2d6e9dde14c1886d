package app

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/api"
	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/simulators"
	banksim "github.com/ordo-project/ordo/internal/simulators/bank"
	einvoicesim "github.com/ordo-project/ordo/internal/simulators/einvoice"
	kingdeesim "github.com/ordo-project/ordo/internal/simulators/kingdee"
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
		return nil, set.closeWith(err)
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
		return nil, set.closeWith(err)
	}

	password, err := secretOf(cfg.ERP.Password)
	if err != nil {
		return nil, set.closeWith(fmt.Errorf("ERP password: %w", err))
	}
	injector, err := simulators.NewInjector(faults, kingdeesim.DefaultFaults...)
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
		return nil, set.closeWith(err)
	}

	if cfg.Sim.SMTP.Enabled {
		set.smtp, err = smtpsim.New(ctx, smtpsim.Config{DB: db, Address: cfg.Sim.SMTP.Address, Faults: faults, Logger: logger})
		if err != nil {
			return nil, set.closeWith(err)
		}
		if err := set.smtp.Start(); err != nil {
			return nil, set.closeWith(err)
		}
	}
	if err := set.startWeCom(ctx, cfg, faults, logger); err != nil {
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
	return s.wecom.Start()
}

// ledgerHandler serves the ledger summary for `ordo dev ledger`: the
// documents per kind and, when the SMTP sink and the WeCom simulator run,
// the mail and the WeCom messages they received.
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
		writeJSON(w, answer)
	})
}

func (s *simulatorSet) closeWith(err error) error {
	_ = s.Close()
	return err
}

// Close stops the WeCom simulator and the SMTP sink, then the ERP and e-invoice simulators before
// the bank, because they report to it, and closes the shared database.
func (s *simulatorSet) Close() error {
	if s.wecom != nil {
		_ = s.wecom.Close()
	}
	if s.smtp != nil {
		_ = s.smtp.Close()
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
