package totpswitch_test

import (
	"slices"
	"testing"

	"guidedfix/bot"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/testkit"
)

// TestDescriptor checks the flow's descriptor against its transition
// table and catalogs: every state has a staff name in English and Malay,
// the command is "2fa", no payload prefix.
func TestDescriptor(t *testing.T) {
	env := testkit.New(t, testkit.Options{})
	f := totpswitch.New(totpswitch.Options{Core: env.Core})
	d := bot.Describe(f)
	if d.Name != "totpswitch" || d.Version != 1 || d.PayloadPrefix != "" || len(d.Commands) != 1 || d.Commands[0].Name != "2fa" {
		t.Fatalf("descriptor %+v", d)
	}
	if !slices.Equal(d.Secrets, []bot.SecretField{bot.SecretPassword, bot.SecretSMSCode, bot.SecretTOTPCode}) {
		t.Fatalf("secrets %v", d.Secrets)
	}
	testkit.CheckDescriptorCatalog(t, f, d, totpswitch.Transitions())
	// The descriptor is a copy: changing it changes the next one nothing.
	d.States[totpswitch.StateDone] = "x"
	if bot.Describe(f).StateName(totpswitch.StateDone) == "x" {
		t.Fatal("Describe shares its state map")
	}
}
