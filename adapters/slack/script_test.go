package slack_test

import (
	"guidedfix/bot"
	"guidedfix/internal/testkit/scriptflow"
)

// scripted returns s with the engine running the contract's scripted flow
// (internal/testkit/scriptflow) instead of totpswitch, for adapter tests
// that need a conversation but no particular guided fix.
func scripted(s setup) setup {
	s.env.Flows = []bot.Flow{scriptflow.New()}
	return s
}

// startScript starts the scripted flow with the slash command in alice's
// DM.
func (h *harness) startScript() {
	h.t.Helper()
	h.env.AddSecret(scriptflow.Passphrase)
	if ack := h.tr.command(h.fake.Command(alice, h.dm(), "/guidedfix", "")); len(ack) != 0 {
		h.t.Fatalf("answer to the command in the DM: %s", ack)
	}
	h.wantLast(scriptflow.MsgHello, nil)
}

// wantState fails unless alice's session is at st.
func (h *harness) wantState(st bot.State) *bot.Session {
	h.t.Helper()
	s := h.session()
	if s == nil || s.State != st {
		h.t.Fatalf("session %+v, want state %s", s, st)
	}
	return s
}

// scriptToPrompt walks the scripted flow to its secret prompt (start, Go,
// Next).
func (h *harness) scriptToPrompt() {
	h.t.Helper()
	h.startScript()
	h.press(scriptflow.ActionGo)
	h.press(scriptflow.ActionNext)
	h.wantLast(scriptflow.MsgAskSecret, nil)
	h.wantState(scriptflow.StateAsking)
}
