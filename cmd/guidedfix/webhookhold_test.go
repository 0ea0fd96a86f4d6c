package main

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"guidedfix/adapters/telegram/fakebotapi"
)

// TestWebhookKill9AfterAnswer: `guidedfix serve` answers a webhook update
// 200 as soon as it is held in sessions.db, before its turn ends. The
// process is killed (SIGKILL) after that 200, while the turn waits in its
// first sendMessage; Telegram will not redeliver an answered update. The
// restarted process runs the held update: the chat gets the welcome and
// the e-mail prompt exactly once, and nothing stays held.
func TestWebhookKill9AfterAnswer(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	armed := false
	blocked, gate := make(chan struct{}, 1), make(chan struct{})
	fake := fakebotapi.New(fakebotapi.Options{Token: procToken, BotUsername: procBot, OnCall: func(c fakebotapi.Call, applied bool) bool {
		mu.Lock()
		hold := armed && !applied && c.Method == "sendMessage"
		armed = armed && !hold
		mu.Unlock()
		if hold {
			blocked <- struct{}{}
			<-gate
			return false // never reached Telegram
		}
		return true
	}})
	t.Cleanup(fake.Close)
	srv := newServer(t, dir, fake)
	if err := srv.start(); err != nil {
		t.Fatal(err)
	}
	user := fakebotapi.User{ID: 8100, FirstName: "Customer", LanguageCode: "en"}
	chat := fakebotapi.PrivateChat(user)
	mu.Lock()
	armed = true
	mu.Unlock()
	u := fake.Text(chat, user, "/start")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	began := time.Now()
	code, err := fake.Post(ctx, srv.webhook(), procSecret, u)
	if err != nil || code != 200 {
		t.Fatalf("webhook: %d, %v", code, err)
	}
	t.Logf("webhook answered 200 after %s", time.Since(began))
	select {
	case <-blocked:
	case <-ctx.Done():
		t.Fatal("the turn did not send its first reply")
	}
	srv.kill()
	srv.waitExit()
	close(gate)

	if err := srv.start(); err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatInt(chat.ID, 10)
	sent := func() []fakebotapi.Call {
		var out []fakebotapi.Call
		for _, c := range fake.Calls("sendMessage") {
			if c.Fields["chat_id"] == id && c.ErrorCode == 0 {
				out = append(out, c)
			}
		}
		return out
	}
	for len(sent()) < 1 && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // a repeat would come now
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	cs := sent()
	if len(cs) != 1 {
		t.Fatalf("%d replies after the restart, want the welcome with the e-mail prompt once: %v", len(cs), cs)
	}
	if s := storedSession(t, dir, chat.ID); s == nil || s.State != "awaiting_email" {
		t.Fatalf("session %+v, want awaiting_email", s)
	}
	viewBolt(t, dir, "sessions.db", func(tx *bolt.Tx) error {
		if n := tx.Bucket([]byte("inbox")).Stats().KeyN; n != 0 {
			t.Errorf("%d updates still held", n)
		}
		return nil
	})
}
