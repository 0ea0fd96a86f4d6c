package newphone_test

import (
	"slices"
	"testing"

	"guidedfix/bot"
	"guidedfix/flows/newphone"
	"guidedfix/internal/testkit"
)

// TestDescriptor checks the flow's descriptor against its transition
// table and catalogs: every state has a staff name in English and Malay,
// the command is "newphone", hand-off payloads begin with "np_".
func TestDescriptor(t *testing.T) {
	f := newphone.New(newphone.Options{Core: struct{ newphone.Core }{}})
	d := bot.Describe(f)
	if d.Name != "newphone" || d.Version != 1 || d.PayloadPrefix != "np_" || len(d.Commands) != 1 || d.Commands[0].Name != "newphone" {
		t.Fatalf("descriptor %+v", d)
	}
	if !slices.Equal(d.Secrets, []bot.SecretField{bot.SecretPassword, bot.SecretTOTPCode, newphone.SecretRecoveryCode}) {
		t.Fatalf("secrets %v", d.Secrets)
	}
	testkit.CheckDescriptorCatalog(t, f, d, newphone.States())
}
