package store_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"reflect"
	"testing"

	bberrors "go.etcd.io/bbolt/errors"

	"guidedfix/bot"
	"guidedfix/internal/store"
)

var testInboxKey = bytes.Repeat([]byte{0x42}, 32)

// TestInboxHoldReleaseAcrossReopen holds updates, releases one, and reads
// the rest back in id order after the file was closed and opened again.
func TestInboxHoldReleaseAcrossReopen(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	b, err := store.Open(store.Options{Path: path, InboxKey: testInboxKey})
	if err != nil {
		t.Fatal(err)
	}
	held := []bot.Inbound{
		{ID: 900, Raw: []byte(`{"update_id":900}`)},
		{ID: -5, Raw: []byte(`{"update_id":-5}`)},
		{ID: 7, Raw: []byte(`{"update_id":7}`)},
		{ID: 256, Raw: []byte(`{"update_id":256}`)},
	}
	if err := b.Hold(ctx, "telegram", held); err != nil {
		t.Fatal(err)
	}
	// Another channel's updates and a replaced record.
	if err := b.Hold(ctx, "other", []bot.Inbound{{ID: 7, Raw: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	if err := b.Hold(ctx, "telegram", []bot.Inbound{{ID: 7, Raw: []byte(`{"update_id":7,"again":true}`)}}); err != nil {
		t.Fatal(err)
	}
	if err := b.Release(ctx, "telegram", 256); err != nil {
		t.Fatal(err)
	}
	if err := b.Release(ctx, "telegram", 12345); err != nil {
		t.Fatalf("releasing an update not held: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(`"update_id":900`)) || bytes.Contains(raw, []byte(`"again":true`)) {
		t.Fatal("sessions.db holds a held update in clear")
	}
	b, err = store.Open(store.Options{Path: path, InboxKey: testInboxKey})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	got, err := b.Held(ctx, "telegram")
	if err != nil {
		t.Fatal(err)
	}
	want := []bot.Inbound{
		{ID: -5, Raw: []byte(`{"update_id":-5}`)},
		{ID: 7, Raw: []byte(`{"update_id":7,"again":true}`)},
		{ID: 900, Raw: []byte(`{"update_id":900}`)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Held = %+v, want %+v", got, want)
	}
	other, err := b.Held(ctx, "other")
	if err != nil || len(other) != 1 || other[0].ID != 7 || string(other[0].Raw) != "x" {
		t.Fatalf("Held(other) = %+v, %v", other, err)
	}
	none, err := b.Held(ctx, "tele")
	if err != nil || len(none) != 0 {
		t.Fatalf("Held of a channel that is a prefix of another = %+v, %v", none, err)
	}
}

// TestInboxKey: without a key nothing is held; under another key a held
// update comes back with a nil Raw; a key of the wrong size is refused.
func TestInboxKey(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	if _, err := store.Open(store.Options{Path: path, InboxKey: make([]byte, 16)}); err == nil {
		t.Fatal("Open took a 16-byte inbox key")
	}
	b, err := store.Open(store.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Hold(ctx, "telegram", []bot.Inbound{{ID: 1, Raw: []byte("{}")}}); !errors.Is(err, store.ErrNoInboxKey) {
		t.Fatalf("Hold without a key: %v, want ErrNoInboxKey", err)
	}
	if _, err := b.Held(ctx, "telegram"); !errors.Is(err, store.ErrNoInboxKey) {
		t.Fatalf("Held without a key: %v, want ErrNoInboxKey", err)
	}
	b.Close()

	b, err = store.Open(store.Options{Path: path, InboxKey: testInboxKey})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Hold(ctx, "telegram", []bot.Inbound{{ID: 1, Raw: []byte(`{"update_id":1}`)}}); err != nil {
		t.Fatal(err)
	}
	b.Close()
	other := bytes.Repeat([]byte{7}, 32)
	b, err = store.Open(store.Options{Path: path, InboxKey: other})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	got, err := b.Held(ctx, "telegram")
	if err != nil || len(got) != 1 || got[0].ID != 1 || got[0].Raw != nil {
		t.Fatalf("Held under another key = %+v, %v; want update 1 with a nil Raw", got, err)
	}
}

func TestInboxInvalidAndClosed(t *testing.T) {
	ctx := context.Background()
	b, err := store.Open(store.Options{Path: dbPath(t), InboxKey: testInboxKey})
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range []string{"", "a\x00b"} {
		if err := b.Hold(ctx, ch, []bot.Inbound{{ID: 1}}); err == nil {
			t.Errorf("Hold(%q) succeeded", ch)
		}
		if err := b.Release(ctx, ch, 1); err == nil {
			t.Errorf("Release(%q) succeeded", ch)
		}
		if _, err := b.Held(ctx, ch); err == nil {
			t.Errorf("Held(%q) succeeded", ch)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := b.Hold(cancelled, "telegram", []bot.Inbound{{ID: 1}}); !errors.Is(err, context.Canceled) {
		t.Errorf("Hold with a cancelled ctx: %v", err)
	}
	if got, _ := b.Held(ctx, "telegram"); len(got) != 0 {
		t.Errorf("a failed Hold held %+v", got)
	}
	b.Close()
	if err := b.Hold(ctx, "telegram", []bot.Inbound{{ID: 1}}); !errors.Is(err, bberrors.ErrDatabaseNotOpen) {
		t.Errorf("Hold after Close: %v", err)
	}
	if _, err := b.Held(ctx, "telegram"); !errors.Is(err, bberrors.ErrDatabaseNotOpen) {
		t.Errorf("Held after Close: %v", err)
	}
}
