package bot

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"guidedfix/internal/testfill"
)

// TestCloneIsDeep fills every field of a Session (and of the structs it
// holds) by reflection, clones it, mutates everything reachable from the
// clone and requires the original's JSON to be unchanged: a field added
// later that Clone copies shallowly makes it fail.
func TestCloneIsDeep(t *testing.T) {
	for _, o := range []testfill.Options{{}, {Empty: true}} {
		var s Session
		if n := testfill.Fill(&s, o).Values; n < 40 {
			t.Fatalf("Fill(%+v) set %d values, want at least 40 (the filler missed fields)", o, n)
		}
		before, err := json.Marshal(&s)
		if err != nil {
			t.Fatal(err)
		}
		c := s.Clone()
		if !reflect.DeepEqual(c, &s) {
			t.Fatalf("Clone (%+v) differs from the original:\n%+v\n%+v", o, c, &s)
		}
		cloned, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(cloned, before) {
			t.Fatalf("Clone (%+v) encodes differently:\n%s\n%s", o, cloned, before)
		}
		testfill.Mutate(c)
		after, err := json.Marshal(&s)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(after, before) {
			t.Errorf("mutating the clone (%+v) changed the original:\nbefore %s\nafter  %s", o, before, after)
		}
		if mutated, _ := json.Marshal(c); bytes.Equal(mutated, before) {
			t.Errorf("Mutate (%+v) changed nothing in the clone; the test cannot fail", o)
		}
	}
}

// TestCloneKeepsNilAndEmpty checks that Clone keeps nil collections nil
// and empty ones empty (the store's cache relies on Clone being exact).
func TestCloneKeepsNilAndEmpty(t *testing.T) {
	if (*Session)(nil).Clone() != nil {
		t.Fatal("nil.Clone() != nil")
	}
	nilS := &Session{ID: "a"}
	if c := nilS.Clone(); c.Tags != nil || c.Messages != nil || c.Offered != nil || c.Outbox != nil || c.Data != nil || c.PendingStart != nil {
		t.Errorf("Clone of a session without collections = %+v, want them nil", c)
	}
	empty := &Session{Tags: map[string]string{}, Messages: map[string]string{}, Offered: []string{}, Outbox: []Pending{{Buttons: []Button{}, Image: []byte{}, Code: []string{}}}, Data: json.RawMessage{}}
	if c := empty.Clone(); !reflect.DeepEqual(c, empty) {
		t.Errorf("Clone of empty collections = %#v, want %#v", c, empty)
	}
}
