package store_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	bberrors "go.etcd.io/bbolt/errors"

	"guidedfix/bot"
	"guidedfix/internal/store"
)

// TestInboxHoldReleaseAcrossReopen holds updates, releases one, and reads
// the rest back in id order after the file was closed and opened again.
func TestInboxHoldReleaseAcrossReopen(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	b, err := store.Open(store.Options{Path: path})
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

	b, err = store.Open(store.Options{Path: path})
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

func TestInboxInvalidAndClosed(t *testing.T) {
	ctx := context.Background()
	b, err := store.Open(store.Options{Path: dbPath(t)})
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
