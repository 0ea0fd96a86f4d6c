package support_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"guidedfix/bot"
	"guidedfix/internal/support"
)

// deskText renders the support desk's own catalog text id (support.Messages)
// in locale with data: what a post must equal exactly.
func deskText(t *testing.T, locale, id string, data map[string]any) string {
	t.Helper()
	c := bot.NewCatalog()
	fsys, paths := support.Messages()
	if err := c.Load(fsys, paths...); err != nil {
		t.Fatal(err)
	}
	if !c.Has(id) {
		t.Fatalf("the desk's catalog has no %s", id)
	}
	return c.Text(locale, id, data)
}

// deskLocales are the staff locales (slack.support_locale) the desk's
// texts are checked in; "" is the default, English.
var deskLocales = []string{"", "ms"}

// TestDeskPostsInTheDesksLanguage: every staff post of the desk — the
// hand-off thread's first post (with and without a guided fix title and
// ticket), watch steps, the last step with its outcome, a failure's
// outcome — is exactly the desk's catalog text in Desk.Locale, and the
// stored Handoff.Outcome is the same untranslated value in every locale.
func TestDeskPostsInTheDesksLanguage(t *testing.T) {
	for _, loc := range deskLocales {
		t.Run("locale="+loc, func(t *testing.T) {
			d, add, addTOTP, ch := twoFlowDeskTOTP(t)
			d.Locale = loc
			ctx := context.Background()
			addTOTP("lina@example.com") // the second flow needs an app account
			add("lina-sms@example.com") // the default flow an SMS one
			_, h1, err := d.HandOffFlow(ctx, d.Flows[1].Name, "lina@example.com", "T-42", "slack", "U7")
			if err != nil {
				t.Fatal(err)
			}
			d.Flows[0].Title = "" // a flow without a title: no "(…)"
			_, h2, err := d.HandOffFlow(ctx, "", "lina-sms@example.com", "", "slack", "U8")
			if err != nil {
				t.Fatal(err)
			}
			want := []string{
				deskText(t, loc, "support.desk.handoff_created", map[string]any{"ID": h1.ID, "Email": "lina@example.com",
					"Flow": d.Texts.Text(loc, d.Flows[1].Title, nil), "Staff": "U7", "Ticket": "T-42"}),
				deskText(t, loc, "support.desk.handoff_created", map[string]any{"ID": h2.ID, "Email": "lina-sms@example.com",
					"Flow": "", "Staff": "U8", "Ticket": ""}),
			}
			if len(ch.threads) != 2 || ch.threads[0] != want[0] || ch.threads[1] != want[1] {
				t.Fatalf("threads %q\nwant %q", ch.threads, want)
			}
			if loc != "" && (want[0] == deskText(t, "", "support.desk.handoff_created", map[string]any{"ID": h1.ID,
				"Email": "lina@example.com", "Flow": d.Texts.Text(loc, d.Flows[1].Title, nil), "Staff": "U7", "Ticket": "T-42"})) {
				t.Fatalf("the %s hand-off post is the English one", loc)
			}

			conv := bot.Conversation{Channel: "telegram", ID: "70"}
			for _, c := range []struct {
				h          support.Handoff
				flow       string
				from, to   bot.State
				stored     string
				outcomeID  string
				failedStep bool
			}{
				{h1, d.Flows[1].Name, "choose_proof", "not_totp", "failed:not_totp", "support.desk.outcome.failed", true},
				{h2, d.Flows[0].Name, "activated", "done", "completed", "support.desk.outcome.completed", false},
			} {
				tags := map[string]string{"account": c.h.AccountID, "handoff": c.h.ID}
				d.Observe(ctx, bot.Transition{Conversation: conv, UserID: "70", Flow: c.flow, From: "x", To: c.from, Tags: tags})
				d.Observe(ctx, bot.Transition{Conversation: conv, UserID: "70", Flow: c.flow, From: c.from, To: c.to, Done: true, Tags: tags})
				var odata map[string]any
				if c.failedStep {
					odata = map[string]any{"Step": d.StepName(c.flow, c.to)}
				}
				outcome := deskText(t, loc, c.outcomeID, odata)
				want := []string{
					deskText(t, loc, "support.desk.watch_step", map[string]any{"Time": "00:00:00 UTC", "Step": d.StepName(c.flow, c.from)}),
					deskText(t, loc, "support.desk.watch_finished", map[string]any{"Time": "00:00:00 UTC",
						"Step": d.StepName(c.flow, c.to), "Outcome": outcome}),
				}
				if got := ch.posts[c.h.WatchThread]; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
					t.Errorf("%s watch posts %q\nwant %q", c.to, got, want)
				}
				if got, _ := d.Store.Handoff(ctx, c.h.ID); got.Outcome != c.stored {
					t.Errorf("%s: stored outcome %q, want %q", c.to, got.Outcome, c.stored)
				}
			}
		})
	}
}

// TestDeskOutcomeWords: Desk.Outcome is the desk's catalog word of each
// ending in Desk.Locale (different in ms), and OutcomeValue the stable
// stored value, the same in every locale.
func TestDeskOutcomeWords(t *testing.T) {
	d, _, _ := twoFlowDesk(t)
	flow := d.Flows[0].Name
	cases := []struct {
		state  bot.State
		id     string
		failed bool
		value  string
	}{
		{"done", "support.desk.outcome.completed", false, "completed"},
		{"cancelled", "support.desk.outcome.cancelled", false, "cancelled"},
		{"expired", "support.desk.outcome.expired", false, "expired"},
		{"blocked", "support.desk.outcome.blocked", false, "blocked"},
		{"locked", "support.desk.outcome.failed", true, "failed:locked"},
		{"no_such_state", "support.desk.outcome.failed", true, "failed:no_such_state"},
	}
	for _, loc := range deskLocales {
		d.Locale = loc
		for _, c := range cases {
			var data map[string]any
			if c.failed {
				data = map[string]any{"Step": d.StepName(flow, c.state)}
			}
			if got, want := d.Outcome(flow, c.state), deskText(t, loc, c.id, data); got != want {
				t.Errorf("%q: Outcome(%s) = %q, want %q", loc, c.state, got, want)
			}
			if got := support.OutcomeValue(c.state); got != c.value {
				t.Errorf("OutcomeValue(%s) = %q, want %q", c.state, got, c.value)
			}
		}
	}
	for _, c := range cases {
		d.Locale = ""
		en := d.Outcome(flow, c.state)
		d.Locale = "ms"
		if ms := d.Outcome(flow, c.state); ms == en {
			t.Errorf("Outcome(%s) is %q in both en and ms", c.state, en)
		}
	}
}

// TestDeskEscalationInTheDesksLanguage: the escalation post (no account
// named; an account named but not verified; a verified one, with the last
// error and the guided fix's title) and the post when the change ends
// (nobody took it over; an agent did) are exactly the desk's catalog
// texts in Desk.Locale.
func TestDeskEscalationInTheDesksLanguage(t *testing.T) {
	for _, loc := range deskLocales {
		t.Run("locale="+loc, func(t *testing.T) {
			d, add, ch := twoFlowDesk(t)
			d.Locale = loc
			ctx := context.Background()
			add("omar@example.com")
			acc, err := d.Core.LookupAccount(ctx, "omar@example.com")
			if err != nil {
				t.Fatal(err)
			}
			desc := d.Flows[1]
			title := d.Texts.Text(loc, desc.Title, nil)
			sessions := []bot.Session{
				{ID: "s1", Conversation: bot.Conversation{Channel: "telegram", ID: "1"}, UserID: "1", Flow: desc.Name, State: "choose_proof"},
				{ID: "s2", Conversation: bot.Conversation{Channel: "telegram", ID: "2"}, UserID: "2", Flow: desc.Name, State: "choose_proof",
					Tags: map[string]string{"account": acc.ID}},
				{ID: "s3", Conversation: bot.Conversation{Channel: "slack", ID: "D3"}, UserID: "U3", Flow: desc.Name, State: "awaiting_recovery_code",
					Tags: map[string]string{"account": acc.ID, "verified": "password", "last_error": "wrong_code"}},
			}
			say := func(id string, data map[string]any) string { return deskText(t, loc, id, data) }
			want := []string{
				say("support.desk.escalation", map[string]any{"Email": say("support.desk.unknown_account", nil),
					"Verified": say("support.desk.verified_no_account", nil), "Channel": "telegram",
					"Step": d.StepName(desc.Name, "choose_proof"), "LastError": say("support.desk.last_error_none", nil), "Flow": title}),
				say("support.desk.escalation", map[string]any{"Email": "omar@example.com",
					"Verified": say("support.desk.verified_not_yet", nil), "Channel": "telegram",
					"Step": d.StepName(desc.Name, "choose_proof"), "LastError": say("support.desk.last_error_none", nil), "Flow": title}),
				say("support.desk.escalation", map[string]any{"Email": "omar@example.com",
					"Verified": say("support.desk.verified_by", map[string]any{"Proof": "password"}), "Channel": "slack",
					"Step": d.StepName(desc.Name, "awaiting_recovery_code"), "LastError": "wrong_code", "Flow": title}),
			}
			for _, s := range sessions {
				if err := d.Escalate(ctx, s); err != nil {
					t.Fatal(err)
				}
			}
			if len(ch.threads) != len(want) {
				t.Fatalf("threads %q", ch.threads)
			}
			for i := range want {
				if ch.threads[i] != want[i] {
					t.Errorf("escalation %d = %q\nwant %q", i, ch.threads[i], want[i])
				}
			}
			// Without a title (a desk with no catalog of the flows) the
			// post has no guided fix line.
			texts := d.Texts
			d.Texts = nil
			s := sessions[0]
			s.Conversation.ID, s.ID = "4", "s4"
			if err := d.Escalate(ctx, s); err != nil {
				t.Fatal(err)
			}
			if got, w := ch.threads[3], say("support.desk.escalation", map[string]any{"Email": say("support.desk.unknown_account", nil),
				"Verified": say("support.desk.verified_no_account", nil), "Channel": "telegram", "Step": "choose_proof",
				"LastError": say("support.desk.last_error_none", nil), "Flow": ""}); got != w {
				t.Errorf("escalation without a title = %q\nwant %q", got, w)
			}
			d.Texts = texts

			// s2's escalation is taken over; s1's is not. Both sessions end.
			if _, err := d.Store.ClaimEscalation(ctx, sessions[1].Conversation.String(), "UAGENT"); err != nil {
				t.Fatal(err)
			}
			end := func(s bot.Session, to bot.State) {
				d.Observe(ctx, bot.Transition{Conversation: s.Conversation, UserID: s.UserID, SessionID: s.ID, Flow: s.Flow,
					From: s.State, To: to, Done: true, Tags: s.Tags})
			}
			end(sessions[0], "cancelled")
			end(sessions[1], "expired")
			wantEnd := map[string]string{
				"ts1": say("support.desk.escalation_ended_open", map[string]any{"Time": "00:00:00 UTC",
					"Outcome": say("support.desk.outcome.cancelled", nil)}),
				"ts2": say("support.desk.escalation_ended_taken", map[string]any{"Time": "00:00:00 UTC",
					"Outcome": say("support.desk.outcome.expired", nil)}),
			}
			for th, w := range wantEnd {
				if got := ch.posts[th]; len(got) != 1 || got[0] != w {
					t.Errorf("thread %s posts %q, want [%q]", th, got, w)
				}
			}
			if len(ch.posts) != 2 {
				t.Errorf("posts in %d threads, want 2: %q", len(ch.posts), ch.posts)
			}
		})
	}
}

// TestDeskAlertFallbackInTheDesksLanguage: a tag alert whose flow has no
// catalog text is the desk's own fallback text in Desk.Locale, naming
// "unknown account" in that language when the account is not found.
func TestDeskAlertFallbackInTheDesksLanguage(t *testing.T) {
	for _, loc := range deskLocales {
		d, _, ch := newDesk(t)
		d.Locale, d.Texts = loc, nil
		d.Flows = []bot.Descriptor{{Name: "f", Tags: []string{"account", "paused"}, TagAlerts: map[string]string{"paused": "f.alert.paused"}}}
		d.Observe(context.Background(), bot.Transition{Conversation: bot.Conversation{Channel: "slack", ID: "D1"}, UserID: "U1", Flow: "f",
			From: "a", To: "cancelled", Done: true, Tags: map[string]string{"account": "acc_missing", "paused": "yes"}})
		want := deskText(t, loc, "support.desk.alert_fallback", map[string]any{"Flow": "f", "Tag": "paused", "Value": "yes",
			"Email": deskText(t, loc, "support.desk.unknown_account", nil), "Channel": "slack", "Step": "a",
			"Outcome": deskText(t, loc, "support.desk.outcome.cancelled", nil)})
		if len(ch.threads) != 1 || ch.threads[0] != want {
			t.Errorf("%q: threads %q, want [%q]", loc, ch.threads, want)
		}
	}
	if deskText(t, "", "support.desk.alert_fallback", nil) == deskText(t, "ms", "support.desk.alert_fallback", nil) {
		t.Error("the ms alert fallback is the English one")
	}
}

// TestDeskRelayInTheDesksLanguage: a customer's message relayed to the
// escalation thread is the desk's relay text in Desk.Locale, a code in it
// replaced by the desk's own mark, and the engine's bot.WithheldNote is
// posted as the desk's withheld text; in English that is exactly
// "Customer: " + bot.WithheldNote, so the two cannot drift apart.
func TestDeskRelayInTheDesksLanguage(t *testing.T) {
	if en := deskText(t, "", "support.desk.relay_withheld", nil); en != deskText(t, "", "support.desk.relay", map[string]any{"Text": bot.WithheldNote}) {
		t.Fatalf("support.desk.relay_withheld %q is not the relay of bot.WithheldNote", en)
	}
	for _, loc := range deskLocales {
		d, _, ch := newDesk(t)
		d.Locale = loc
		ctx := context.Background()
		s := bot.Session{ID: "s1", Conversation: bot.Conversation{Channel: "telegram", ID: "6"}, UserID: "6", State: "x"}
		if err := d.Escalate(ctx, s); err != nil {
			t.Fatal(err)
		}
		for _, text := range []string{"code 123 456 ok", bot.WithheldNote} {
			if err := d.Relay(ctx, s, text); err != nil {
				t.Fatal(err)
			}
		}
		mark := deskText(t, loc, "support.desk.number_withheld", nil)
		want := []string{deskText(t, loc, "support.desk.relay", map[string]any{"Text": "code " + mark + " ok"}),
			deskText(t, loc, "support.desk.relay_withheld", nil)}
		if got := ch.posts["ts1"]; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("%q: relayed %q\nwant %q", loc, got, want)
		}
		if loc != "" && want[1] == deskText(t, "", "support.desk.relay_withheld", nil) {
			t.Errorf("the %s withheld note is the English one", loc)
		}
	}
}

// TestDeskAuditOutcomesInTheDesksLanguage: the audit outcomes the desk
// writes (a refused hand-off, a mailed one of the default flow with a
// ticket and of another flow without, an escalation) are exactly the
// desk's catalog texts in Desk.Locale.
func TestDeskAuditOutcomesInTheDesksLanguage(t *testing.T) {
	for _, loc := range deskLocales {
		t.Run("locale="+loc, func(t *testing.T) {
			d, add, addTOTP, _ := twoFlowDeskTOTP(t)
			d.Locale = loc
			ctx := context.Background()
			add("uma@example.com")
			addTOTP("uma-app@example.com") // the second flow needs an app account
			acc, err := d.Core.LookupAccount(ctx, "uma@example.com")
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := d.HandOff(ctx, "ghost@example.com", "", "slack", "U1"); !errors.Is(err, support.ErrNoAccount) {
				t.Fatalf("unknown e-mail: %v", err)
			}
			if _, _, err := d.HandOff(ctx, "uma@example.com", "T-8", "slack", "U1"); err != nil {
				t.Fatal(err)
			}
			if _, _, err := d.HandOffFlow(ctx, d.Flows[1].Name, "uma-app@example.com", "", "slack", "U1"); err != nil {
				t.Fatal(err)
			}
			s := bot.Session{ID: "s1", Conversation: bot.Conversation{Channel: "telegram", ID: "4"}, UserID: "4", Flow: d.Flows[1].Name,
				State: "choose_proof", Tags: map[string]string{"account": acc.ID}}
			if err := d.Escalate(ctx, s); err != nil {
				t.Fatal(err)
			}
			log, err := d.Store.Audit(ctx, "", 10)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range log {
				got = append(got, e.Action+" "+e.Outcome)
			}
			want := []string{ // newest first
				"escalated " + deskText(t, loc, "support.desk.audit.escalated", map[string]any{"Step": d.StepName(d.Flows[1].Name, "choose_proof")}),
				"handoff_created " + deskText(t, loc, "support.desk.audit.handoff_mailed", map[string]any{"Flow": d.Flows[1].Name, "Ticket": ""}),
				"handoff_created " + deskText(t, loc, "support.desk.audit.handoff_mailed", map[string]any{"Flow": "", "Ticket": "T-8"}),
				"handoff_created " + deskText(t, loc, "support.desk.audit.handoff_refused", nil),
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("audit\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if loc != "" && want[3] == "handoff_created "+deskText(t, "", "support.desk.audit.handoff_refused", nil) {
				t.Fatalf("the %s audit outcome is the English one", loc)
			}
		})
	}
}
