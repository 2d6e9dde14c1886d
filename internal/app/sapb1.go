package app

import (
	"context"
	"fmt"

	"github.com/sirupsen/logrus"

	"github.com/ordo-project/ordo/internal/config"
	"github.com/ordo-project/ordo/internal/simulators"
	sapb1sim "github.com/ordo-project/ordo/internal/simulators/sapb1"
)

// startSAPB1 starts the SAP Business One Service Layer simulator when
// simulators.sapb1 enables it. Its sales orders reach the simulated bank
// like the Kingdee simulator's, so the simulated customers pay them.
func (s *simulatorSet) startSAPB1(ctx context.Context, cfg *config.Config, faults simulators.FaultConfig, logger *logrus.Logger) error {
	sim := cfg.Sim.SAPB1
	if !sim.Enabled {
		return nil
	}
	password, err := sim.Password.Resolve()
	if err != nil {
		return fmt.Errorf("simulators.sapb1.password: %w", err)
	}
	if sim.FaultRate > 0 {
		faults.Rate = sim.FaultRate
	}
	faults.Hang = sim.FaultHang
	injector, err := simulators.NewInjector(faults, sapb1sim.DefaultFaults...)
	if err != nil {
		return fmt.Errorf("simulators.sapb1: %w", err)
	}
	s.sapb1, err = sapb1sim.New(ctx, sapb1sim.Config{
		DB: s.db, Logger: logger, World: s.bank, Faults: injector,
		CompanyDB: sim.CompanyDB, UserName: sim.UserName, Password: password,
		SessionTimeout: sim.SessionTimeout, CompletionDelay: sim.ProductionDelay,
	})
	if err != nil {
		return err
	}
	_, err = s.sapb1.Start(sim.Address)
	return portHint("simulators.sapb1.address", err)
}
