package main

import (
	"os"
	"strings"
	"testing"

	"guidedfix/bot"
)

// TestReadmeKilledDemoAsksStartAgain (fixcore item 3): README's paragraph
// on a killed demo names the start-again question by its catalog id
// (bot.MsgStartAgain) and no longer claims the next demo ends the change
// at its start.
func TestReadmeKilledDemoAsksStartAgain(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := strings.Join(strings.Fields(string(b)), " ")
	i := strings.Index(readme, "If the demo is killed instead")
	if i < 0 {
		t.Fatal("README: killed-demo paragraph not found")
	}
	para := readme[i:min(len(readme), i+600)]
	if !strings.Contains(para, "`"+bot.MsgStartAgain+"`") || strings.Contains(para, "ends the unfinished change at its start") {
		t.Fatalf("README killed-demo paragraph does not describe %s:\n%s", bot.MsgStartAgain, para)
	}
}
