package boltgroup

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

var bucket = []byte("b")

// open opens a bbolt file in t's temporary directory with bucket b.
func open(t *testing.T, path string) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(path, 0o600, Options(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists(bucket); return err }); err != nil {
		t.Fatal(err)
	}
	return db
}

func put(key string) func(*bolt.Tx) error {
	return func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put([]byte(key), []byte("v")) }
}

// blockFirst hands the committer a write that holds its transaction open
// until release is closed, then starts writes (one goroutine each) that
// queue behind it; it returns their errors once all answered.
func blockFirst(t *testing.T, c *Committer, writes []func(*bolt.Tx) error) []error {
	t.Helper()
	release, started := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- c.Write(func(tx *bolt.Tx) error {
			close(started)
			<-release
			return put("first")(tx)
		})
	}()
	<-started
	errs := make([]error, len(writes))
	var wg sync.WaitGroup
	for i, fn := range writes {
		wg.Go(func() { errs[i] = c.Write(fn) })
	}
	// Let every writer reach the hand-over (they block there while the
	// first transaction is open).
	time.Sleep(300 * time.Millisecond)
	close(release)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatalf("first write: %v", err)
	}
	return errs
}

// TestConcurrentWritesShareCommit: 50 writes arriving while a commit is in
// progress are made durable by one more commit.
func TestConcurrentWritesShareCommit(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "g.db"))
	defer db.Close()
	c := New(db)
	defer c.Close()
	var writes []func(*bolt.Tx) error
	for i := range 50 {
		writes = append(writes, put(fmt.Sprintf("k%02d", i)))
	}
	for i, err := range blockFirst(t, c, writes) {
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	if st := c.Stats(); st != (Stats{Commits: 2, Writes: 51}) {
		t.Fatalf("stats %+v, want 2 commits for 51 writes", st)
	}
	db.View(func(tx *bolt.Tx) error {
		if n := tx.Bucket(bucket).Stats().KeyN; n != 51 {
			t.Errorf("%d keys stored, want 51", n)
		}
		return nil
	})
}

var errRefused = errors.New("refused")

// TestFailingWriteAlone: one write of a group fails after writing; it gets
// its own error and leaves nothing, the others of its group are committed
// together (one commit), and the failing one ran alone.
func TestFailingWriteAlone(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "g.db"))
	defer db.Close()
	c := New(db)
	defer c.Close()
	runs := 0
	var writes []func(*bolt.Tx) error
	for i := range 10 {
		writes = append(writes, put(fmt.Sprintf("k%d", i)))
	}
	writes[4] = func(tx *bolt.Tx) error {
		runs++
		if err := put("bad")(tx); err != nil {
			return err
		}
		return errRefused
	}
	errs := blockFirst(t, c, writes)
	for i, err := range errs {
		if want := error(nil); i == 4 {
			if !errors.Is(err, errRefused) {
				t.Errorf("failing write: %v, want errRefused", err)
			}
		} else if err != want {
			t.Errorf("write %d: %v, want nil", i, err)
		}
	}
	if runs != 2 {
		t.Errorf("failing write ran %d times, want 2 (in the group, then alone)", runs)
	}
	if st := c.Stats(); st != (Stats{Commits: 2, Writes: 10}) {
		t.Fatalf("stats %+v, want 2 commits for 10 writes", st)
	}
	db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if b.Get([]byte("bad")) != nil {
			t.Error("the failing write's put was committed")
		}
		if n := b.Stats().KeyN; n != 10 {
			t.Errorf("%d keys stored, want 10", n)
		}
		return nil
	})
}

// TestCloseRefuses: a write after Close fails and writes nothing.
func TestCloseRefuses(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "g.db"))
	defer db.Close()
	c := New(db)
	c.Close()
	c.Close()
	if err := c.Write(put("late")); err == nil {
		t.Fatal("write after Close succeeded")
	}
}

const childEnv = "GUIDEDFIX_BOLTGROUP_CHILD"

// TestKill9AfterAck runs writers in a child process that prints each key
// once its Write returned, kills it with SIGKILL after 300
// acknowledgements and checks that every acknowledged key is in the file.
func TestKill9AfterAck(t *testing.T) {
	if path := os.Getenv(childEnv); path != "" {
		child(path)
		return
	}
	path := filepath.Join(t.TempDir(), "g.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKill9AfterAck$")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	sc := bufio.NewScanner(out)
	for sc.Scan() && len(acked) < 300 {
		if k, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
			acked = append(acked, k)
		}
	}
	cmd.Process.Kill() // SIGKILL
	cmd.Wait()
	if len(acked) < 300 {
		t.Fatalf("child acknowledged only %d writes", len(acked))
	}
	db := open(t, path)
	defer db.Close()
	db.View(func(tx *bolt.Tx) error {
		for _, k := range acked {
			if tx.Bucket(bucket).Get([]byte(k)) == nil {
				t.Errorf("acknowledged key %s lost", k)
			}
		}
		return nil
	})
}

// child writes keys from 8 goroutines until killed, printing each
// acknowledged one.
func child(path string) {
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists(bucket); return err })
	c := New(db)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for n := 0; ; n++ {
				k := fmt.Sprintf("w%d-%d", w, n)
				if err := c.Write(put(k)); err != nil {
					fmt.Println("error", err)
					os.Exit(1)
				}
				mu.Lock()
				fmt.Println("ack", k)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}
