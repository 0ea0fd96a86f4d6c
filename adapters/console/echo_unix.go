//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package console

import "golang.org/x/sys/unix"

// echoOff turns the echo of the terminal fd off, leaving it in canonical
// (line) mode with signals on, and returns the function that restores
// the terminal's previous settings. Reads from the terminal then end at a
// newline, and an end-of-input (Ctrl-D on an empty line) reads as io.EOF
// through os.File, as at a visible prompt. golang.org/x/term.ReadPassword
// is not used because it reads the descriptor directly and loops on the
// zero-byte read Ctrl-D makes, so end-of-input there would be swallowed.
// It returns the ioctl's error when fd is not a terminal.
func echoOff(fd int) (restore func(), err error) {
	old, err := unix.IoctlGetTermios(fd, ioctlReadTermios)
	if err != nil {
		return nil, err
	}
	hidden := *old
	hidden.Lflag &^= unix.ECHO
	hidden.Lflag |= unix.ICANON | unix.ISIG
	hidden.Iflag |= unix.ICRNL
	if err := unix.IoctlSetTermios(fd, ioctlWriteTermios, &hidden); err != nil {
		return nil, err
	}
	return func() { _ = unix.IoctlSetTermios(fd, ioctlWriteTermios, old) }, nil
}
