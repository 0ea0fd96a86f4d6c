package bot_test

import (
	"slices"
	"testing"
	"testing/fstest"

	"guidedfix/bot"
)

// TestCatalogIDs: IDs lists, sorted, the ids of every loaded language
// that begin with the prefix, each once.
func TestCatalogIDs(t *testing.T) {
	c := bot.NewCatalog()
	fsys := fstest.MapFS{
		"en.yaml": {Data: []byte("x.button.b: \"B\"\nx.button.a: \"A\"\nx.other: \"O\"\ny.button.c: \"C\"\n")},
		"ms.yaml": {Data: []byte("x.button.a: \"A ms\"\nx.button.z: \"Z ms\"\n")},
	}
	if err := c.Load(fsys, "en.yaml", "ms.yaml"); err != nil {
		t.Fatal(err)
	}
	if got, want := c.IDs("x.button."), []string{"x.button.a", "x.button.b", "x.button.z"}; !slices.Equal(got, want) {
		t.Fatalf("IDs(x.button.) = %v, want %v", got, want)
	}
	if got := c.IDs("none."); len(got) != 0 {
		t.Fatalf("IDs(none.) = %v, want none", got)
	}
	if got := len(c.IDs("")); got != 5 {
		t.Fatalf("IDs(\"\") has %d ids, want 5", got)
	}
}
