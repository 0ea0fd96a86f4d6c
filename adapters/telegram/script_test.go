package telegram

import (
	"testing"

	"guidedfix/adapters/telegram/fakebotapi"
	"guidedfix/bot"
	"guidedfix/internal/testkit"
	"guidedfix/internal/testkit/scriptflow"
)

// newScriptEnv is newEnv with the engine running the contract's scripted
// flow (internal/testkit/scriptflow) instead of totpswitch, for adapter
// tests that need a conversation but no particular guided fix.
func newScriptEnv(t testing.TB) (*testkit.Env, *fakebotapi.Server) {
	env := testkit.New(t, testkit.Options{Flows: []bot.Flow{scriptflow.New()}})
	env.AddSecret(scriptflow.Passphrase)
	fake := fakebotapi.New(fakebotapi.Options{Token: testToken, BotUsername: botName})
	t.Cleanup(fake.Close)
	return env, fake
}

// newScriptHarness is newHarness on newScriptEnv.
func newScriptHarness(t *testing.T, webhook bool, tweak ...func(*Options)) *harness {
	env, fake := newScriptEnv(t)
	return start(t, env, fake, webhook, tweak...)
}

// toScriptPrompt walks the scripted flow to its secret prompt (/start, Go,
// Next) and forgets the calls so far.
func toScriptPrompt(t *testing.T, h *harness) {
	t.Helper()
	h.text("/start")
	h.press(scriptflow.ActionGo)
	h.press(scriptflow.ActionNext)
	h.wantState(scriptflow.StateAsking)
	h.calls()
}
