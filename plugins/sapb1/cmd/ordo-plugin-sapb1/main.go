// Command ordo-plugin-sapb1 is ordo's ERP plugin for SAP Business One. ordo
// starts it; it reads the Service Layer connection from SAPB1_* environment
// variables (see plugins/sapb1) and serves the ERP contract until ordo stops
// it. Build it with
//
//	go build -o ordo-plugin-sapb1 ./plugins/sapb1/cmd/ordo-plugin-sapb1
package main

import (
	"fmt"
	"os"

	"github.com/ordo-project/ordo/plugins/erpplugin"
	"github.com/ordo-project/ordo/plugins/sapb1"
)

func main() {
	cfg, err := sapb1.ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ordo-plugin-sapb1:", err)
		os.Exit(1)
	}
	erp, err := sapb1.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ordo-plugin-sapb1:", err)
		os.Exit(1)
	}
	erpplugin.Serve(erp)
}
