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
	cat := bot.NewCatalog()
	fsys, paths := f.Messages()
	if err := cat.Load(fsys, paths...); err != nil {
		t.Fatal(err)
	}
	states := totpswitch.Transitions()
	if len(d.States) != len(states) {
		t.Errorf("%d state names for %d states", len(d.States), len(states))
	}
	for s := range states {
		id := d.StateName(s)
		if id == "" || !cat.Has(id) {
			t.Errorf("state %s: name id %q not in the catalog", s, id)
		}
		if en, ms := cat.Text("en", id, nil), cat.Text("ms", id, nil); en == ms {
			t.Errorf("state %s: the Malay name equals the English %q", s, en)
		}
	}
	for _, id := range []string{d.Title, d.Commands[0].Description, d.Commands[0].Label} {
		if !cat.Has(id) {
			t.Errorf("catalog lacks %q", id)
		}
	}
	// The descriptor is a copy: changing it changes the next one nothing.
	d.States[totpswitch.StateDone] = "x"
	if bot.Describe(f).StateName(totpswitch.StateDone) == "x" {
		t.Fatal("Describe shares its state map")
	}
}
