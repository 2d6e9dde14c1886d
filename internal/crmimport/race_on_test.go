//go:build race

package crmimport

// raceEnabled is true when the tests run under the race detector, which
// slows the import several times over.
const raceEnabled = true
