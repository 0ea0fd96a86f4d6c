package console

import "golang.org/x/sys/unix"

// The termios ioctls of Linux (tcgetattr/tcsetattr, TCSANOW).
const (
	ioctlReadTermios  = unix.TCGETS
	ioctlWriteTermios = unix.TCSETS
)
