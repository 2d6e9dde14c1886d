//go:build !linux

package app_test

import "os/exec"

// killWithTest does nothing outside Linux, which alone has a parent-death
// signal; t.Cleanup still kills the child when the test ends normally.
func killWithTest(cmd *exec.Cmd) {}
