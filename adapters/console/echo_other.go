//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package console

import "errors"

// echoOff is not available on this system: readLine falls back to
// golang.org/x/term.ReadPassword.
func echoOff(fd int) (restore func(), err error) {
	return nil, errors.New("console: turning echo off is not supported here")
}
