package embedded

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// PruneSMSFiles deletes the message files of the file phone FileSMS{Dir}
// whose code has expired: those written (per the UTC timestamp that starts
// their name, or their modification time when the name has none) more
// than the SMS code lifetime (5 minutes) before now. It returns how many
// it deleted and the first error other than a file already gone.
func PruneSMSFiles(dir string, now time.Time) (int, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	var first error
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".txt") || strings.HasPrefix(name, ".") {
			continue
		}
		at, perr := time.Parse("20060102T150405.000000000Z", strings.SplitN(name, "-", 2)[0])
		if perr != nil {
			fi, err := e.Info()
			if err != nil {
				continue
			}
			at = fi.ModTime()
		}
		if now.Sub(at) <= smsCodeTTL {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err == nil {
			n++
		} else if !os.IsNotExist(err) && first == nil {
			first = err
		}
	}
	return n, first
}

// SweepSMSFiles runs PruneSMSFiles on dir every interval until ctx ends.
func SweepSMSFiles(ctx context.Context, dir string, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		PruneSMSFiles(dir, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
