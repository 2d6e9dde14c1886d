//go:build !race

package crmimport

const raceEnabled = false
