package support_test

import (
	"context"
	"testing"

	"guidedfix/bot"
	"guidedfix/internal/support"
)

// TestTagAlertsFromDescriptor: a session that ends with a tag its flow's
// descriptor has an alert for (bot.Descriptor.TagAlerts) opens one thread
// in the support channel with exactly the flow's catalog text of that id,
// in the desk's locale, and leaves an "alert:<tag>" audit entry; a tag
// without an alert, a session not yet ended and a session that ends
// without the tag raise none.
func TestTagAlertsFromDescriptor(t *testing.T) {
	d, add, ch := twoFlowDesk(t)
	ctx := context.Background()
	add("rita@example.com")
	acc, err := d.Core.LookupAccount(ctx, "rita@example.com")
	if err != nil {
		t.Fatal(err)
	}
	var first, second bot.Descriptor = d.Flows[0], d.Flows[1]
	var tag, id string
	for k, v := range first.TagAlerts {
		tag, id = k, v
	}
	if len(first.TagAlerts) != 1 || tag == "" || !d.Texts.Has(id) {
		t.Fatalf("%s: TagAlerts %v: want one alert with a catalog text", first.Name, first.TagAlerts)
	}
	if second.TagAlerts[tag] != "" {
		t.Fatalf("%s also alerts on %q; the test needs a flow without", second.Name, tag)
	}
	conv := bot.Conversation{Channel: "telegram", ID: "3"}
	var from, to bot.State = "some_step", "expired"
	end := func(flow string, done bool, tags map[string]string) {
		d.Observe(ctx, bot.Transition{Conversation: conv, UserID: "3", Flow: flow, From: from, To: to, Done: done, Tags: tags})
	}
	want := func(locale string) string {
		return d.Texts.Text(locale, id, map[string]any{"Email": "rita@example.com", "Channel": "telegram",
			"Step": d.StepName(first.Name, from), "Outcome": deskText(t, locale, "support.desk.outcome.expired", nil), "Value": "v1"})
	}
	end(first.Name, true, map[string]string{"account": acc.ID, tag: "v1"})
	if len(ch.threads) != 1 || ch.threads[0] != want("") {
		t.Fatalf("threads %q, want [%q]", ch.threads, want(""))
	}
	log, err := d.Store.Audit(ctx, acc.ID, 5)
	if err != nil || len(log) != 2 || log[0].Action != "alert:"+tag || log[0].Outcome != want("") || log[1].Action != "step" {
		t.Fatalf("audit %+v, %v", log, err)
	}

	// In the desk's locale (slack.support_locale).
	d.Locale = "ms"
	end(first.Name, true, map[string]string{"account": acc.ID, tag: "v1"})
	if len(ch.threads) != 2 || ch.threads[1] != want("ms") || want("ms") == want("") {
		t.Fatalf("threads %q, want the ms text %q", ch.threads, want("ms"))
	}

	// No alert: another flow's session with the same tag, a session that
	// has not ended, one that ends without the tag.
	end(second.Name, true, map[string]string{"account": acc.ID, tag: "v1"})
	end(first.Name, false, map[string]string{"account": acc.ID, tag: "v1"})
	end(first.Name, true, map[string]string{"account": acc.ID})
	if len(ch.threads) != 2 {
		t.Fatalf("threads %q: want no more alerts", ch.threads)
	}
	log, _ = d.Store.Audit(ctx, acc.ID, 20)
	alerts := 0
	for _, e := range log {
		if e.Action == "alert:"+tag {
			alerts++
		}
	}
	if alerts != 2 {
		t.Fatalf("%d alert entries, want 2: %+v", alerts, log)
	}
}

// TestTagAlertWithoutCatalog: a desk with a descriptor but no catalog
// still alerts, with a plain text naming the tag and the account.
func TestTagAlertWithoutCatalog(t *testing.T) {
	d, env, ch := newDesk(t)
	env.AddAccount(t, "ned@example.com", "sms")
	acc, _ := env.Core.LookupAccount(context.Background(), "ned@example.com")
	d.Flows = []bot.Descriptor{{Name: "f", Tags: []string{"account", "paused"}, TagAlerts: map[string]string{"paused": "f.alert.paused"}}}
	d.Texts = nil
	d.Observe(context.Background(), bot.Transition{Conversation: bot.Conversation{Channel: "slack", ID: "D1"}, UserID: "U1", Flow: "f",
		From: "a", To: "done", Done: true, Tags: map[string]string{"account": acc.ID, "paused": "yes"}})
	want := deskText(t, "", "support.desk.alert_fallback", map[string]any{"Flow": "f", "Tag": "paused", "Value": "yes",
		"Email": "ned@example.com", "Channel": "slack", "Step": "a", "Outcome": deskText(t, "", "support.desk.outcome.completed", nil)})
	if len(ch.threads) != 1 || ch.threads[0] != want {
		t.Fatalf("threads %q, want [%q]", ch.threads, want)
	}
	var _ support.Notifier = ch
}
