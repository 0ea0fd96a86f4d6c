package newphone_test

import (
	"os"
	"testing"

	"guidedfix/bot"
	"guidedfix/flows/newphone"
	"guidedfix/internal/testkit"
)

// unreachable lists the edges of the transition table that no test of
// this package takes, each with the reason; the edge walk fails on any
// other edge not taken, and on a listed one that is taken.
var unreachable = map[bot.Edge]string{}

// TestMain runs the package's tests, whose engines check every state
// change against the table (testkit.StateCheck, strict) and record it,
// and then walks the table: when the whole package ran, every edge must
// have been taken at least once or be listed in unreachable with its
// reason. Then the flow's descriptor must say what its tests' chats saw
// (testkit.CheckDescriptor): the kinds of secret the secret prompts asked
// for are exactly Descriptor.Secrets, the session tags set exactly
// Descriptor.Tags.
func TestMain(m *testing.M) {
	os.Exit(testkit.RunWithFlowChecks(m, bot.Describe(newphone.New(newphone.Options{Core: struct{ newphone.Core }{}})), newphone.Table(), unreachable))
}
