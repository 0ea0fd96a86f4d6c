package main

import (
	"strings"
	"testing"
)

// TestEscalationThreadToldWhenFlowEnds: the customer (Telegram) asks for
// a person, an agent takes over in Slack (the fake, through slack-go),
// then the customer cancels: the escalation thread says the guided change
// ended (cancelled) and that replies no longer reach the customer; an
// agent's reply afterwards is answered "not delivered".
func TestEscalationThreadToldWhenFlowEnds(t *testing.T) {
	e := newE2E(t)
	e.text("/start")
	e.botSaid("Which e-mail address")
	e.text(zoe)
	e.botSaid("Please type your account password")
	e.press("_human")
	e.botSaid("I have asked our support team to join")
	esc := e.root("A customer asks for a person.")
	e.click(agent, "guidedfix_takeover")
	e.waitThread(esc.TS, "<@"+agent+"> took over this conversation")
	e.botSaid("Sam Agent from our support team has joined this chat")

	e.text("/cancel")
	e.waitThread(esc.TS, "the customer's guided change has ended: cancelled. Replies in this thread no longer reach them.")
	n := len(e.threadTexts(esc.TS))
	e.reply(agent, esc.TS, "still there?")
	if got := e.ephemeralTo(agent); !strings.Contains(got, "Not delivered: the customer's guided change has ended.") {
		t.Fatalf("a reply after the end was answered %q", got)
	}
	ends := 0
	for _, s := range e.threadTexts(esc.TS)[:n] {
		if strings.Contains(s, "has ended") {
			ends++
		}
	}
	if ends != 1 {
		t.Fatalf("%d end notes in the thread %q", ends, e.threadTexts(esc.TS))
	}
}
