package app

import (
	"context"

	"github.com/sirupsen/logrus"

	"github.com/ordo-project/ordo/connectors/registry"
	restconnector "github.com/ordo-project/ordo/connectors/rest"
	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/simulators"
	resterpsim "github.com/ordo-project/ordo/internal/simulators/resterp"
)

// startRestERP starts the home-grown ERP simulator when erp.connector
// selects erp/rest and the simulator is enabled. It accepts the bearer
// token of erp.rest.auth, so the connector's own credentials work.
func (s *simulatorSet) startRestERP(ctx context.Context, cfg *config.Config, faults simulators.FaultConfig, logger *logrus.Logger) error {
	connector, _, err := registry.Resolve(registry.ERP, cfg.ERP.Connector)
	if err != nil || connector.ID != "erp/rest" || !cfg.Sim.RestERP.Enabled {
		return nil
	}
	section, problems := restconnector.DecodeSection(cfg.ERP.Rest, restSection)
	if err := problems.Err("configuration"); err != nil {
		return err
	}
	creds, err := restconnector.ResolveCredentials(section.Auth, restSection)
	if err != nil {
		return err
	}
	s.resterp, err = resterpsim.New(ctx, resterpsim.Config{
		DB: s.db, Token: creds.Token, Faults: faults, World: s.bank,
		CompletionDelay: cfg.Sim.Kingdee.ProductionDelay, Logger: logger,
	})
	if err != nil {
		return err
	}
	_, err = s.resterp.Start(cfg.Sim.RestERP.Address)
	return portHint("simulators.resterp.address", err)
}
