package procstat

import (
	"crypto/sha256"
	"testing"
)

// TestCPUCounts: CPU succeeds, the process has used some user time by
// now, and neither figure goes back after more work (getrusage's times
// only grow).
func TestCPUCounts(t *testing.T) {
	user0, sys0, err := CPU()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(nil)
	for range 200000 {
		sum = sha256.Sum256(sum[:])
	}
	user1, sys1, err := CPU()
	if err != nil {
		t.Fatal(err)
	}
	if user1 <= 0 || user1 < user0 || sys1 < sys0 {
		t.Fatalf("CPU went from user %v sys %v to user %v sys %v", user0, sys0, user1, sys1)
	}
	if got := Total(t); got < user1+sys1 {
		t.Fatalf("Total %v, less than the user+sys %v read before", got, user1+sys1)
	}
}

// failTB records Fatal instead of stopping the test.
type failTB struct{ fatal int }

func (*failTB) Helper()        {}
func (f *failTB) Fatal(...any) { f.fatal++ }

// TestTotalDoesNotFail: Total calls Fatal only on an error, never on
// success.
func TestTotalDoesNotFail(t *testing.T) {
	var f failTB
	if Total(&f) <= 0 || f.fatal != 0 {
		t.Fatalf("Total: Fatal called %d times", f.fatal)
	}
}
