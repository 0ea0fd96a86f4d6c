// Package procstat reads this process's resource usage, for benchmarks
// that report CPU time per operation next to wall time (ns/op hides the
// work done by other goroutines, the GC and fsync's system time).
//
// It follows getrusage(2) with RUSAGE_SELF (POSIX.1-2008; on Linux the
// sum over every thread of the process, terminated ones included), read
// through syscall.Getrusage, so it builds on Unix systems only.
package procstat

import (
	"syscall"
	"time"
)

// CPU returns the CPU time this process has used so far: user is the
// time spent running its code (ru_utime), sys the time the kernel spent
// for it (ru_stime), each with the microsecond resolution of struct
// timeval. The difference of two calls is the CPU time in between. err is
// getrusage's errno (in practice never: RUSAGE_SELF and a valid buffer);
// user and sys are then zero.
func CPU() (user, sys time.Duration, err error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0, err
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano()), nil
}

// TB is the part of testing.TB that Total uses.
type TB interface {
	Helper()
	Fatal(args ...any)
}

// Total returns user+sys CPU time of this process so far (see CPU), for a
// benchmark's cpu-per-op metric; it stops tb with Fatal when getrusage
// fails.
func Total(tb TB) time.Duration {
	tb.Helper()
	user, sys, err := CPU()
	if err != nil {
		tb.Fatal(err)
	}
	return user + sys
}
