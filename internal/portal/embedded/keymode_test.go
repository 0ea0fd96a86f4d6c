package embedded

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// TestKeyFileModeRefused (issue 11 item 11): a portal.key readable by
// group or others is refused with the chmod to run; 0600 and 0400 open.
func TestKeyFileModeRefused(t *testing.T) {
	for _, tc := range []struct {
		mode os.FileMode
		ok   bool
	}{{0o600, true}, {0o400, true}, {0o640, false}, {0o604, false}, {0o644, false}, {0o660, false}} {
		e := newEnv(t) // creates the key file 0600
		e.core.Close()
		if err := os.Chmod(e.opts.KeyFile, tc.mode); err != nil {
			t.Fatal(err)
		}
		c, err := Open(e.opts)
		if tc.ok {
			if err != nil {
				t.Errorf("mode %04o: %v", tc.mode, err)
				continue
			}
			c.Close()
			continue
		}
		if !errors.Is(err, ErrKeyFileMode) || !strings.Contains(err.Error(), "chmod 600 "+e.opts.KeyFile) {
			t.Errorf("mode %04o: %v, want ErrKeyFileMode naming the chmod", tc.mode, err)
		}
		if c != nil {
			c.Close()
		}
	}
}
