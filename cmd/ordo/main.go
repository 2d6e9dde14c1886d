// Command ordo is the integration hub's single binary: the embedded
// development stack, the worker, the API server, importers and operator
// commands.
package main

import (
	"os"
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		os.Exit(1)
	}
}
