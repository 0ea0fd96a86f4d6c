package embedded

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestAddAccountNormalizesEmail (fixcore item 2): AddAccount stores the
// portal.NormalizeEmail form, so a full-width twin of an existing address
// is ErrExists and LookupAccount finds it by either form; a 250-byte local
// part and invalid UTF-8 are ErrInvalidAccount, and create nothing.
func TestAddAccountNormalizesEmail(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, err := e.core.AddAccount(ctx, NewAccount{Email: "alice@example.com", Password: "long enough"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.core.AddAccount(ctx, NewAccount{Email: "ａｌｉｃｅ@example.com", Password: "long enough"}); !errors.Is(err, ErrExists) {
		t.Fatalf("full-width twin: %v, want ErrExists", err)
	}
	b, err := e.core.AddAccount(ctx, NewAccount{Email: "ＢＯＢ@ｅｘａｍｐｌｅ．ｃｏｍ", Password: "long enough"})
	if err != nil || b.Email != "bob@example.com" {
		t.Fatalf("full-width new account: %+v %v, want stored as bob@example.com", b, err)
	}
	if got, err := e.core.LookupAccount(ctx, "ａｌｉｃｅ@example.com"); err != nil || got.ID != a.ID {
		t.Fatalf("lookup full-width: %+v %v, want %s", got, err, a.ID)
	}
	for _, bad := range []string{strings.Repeat("x", 250) + "@example.com", "frank@example.com\xff\xfe", "zero\u200bwidth@example.com"} {
		if _, err := e.core.AddAccount(ctx, NewAccount{Email: bad, Password: "long enough"}); !errors.Is(err, ErrInvalidAccount) {
			t.Errorf("AddAccount(%q): %v, want ErrInvalidAccount", bad, err)
		}
	}
	accs, err := e.core.ListAccounts(ctx)
	if err != nil || len(accs) != 2 {
		t.Fatalf("accounts after refusals: %d %v, want 2", len(accs), err)
	}
}

// TestUnlockFindsNormalizedEmail: the operator's unlock looks the address
// up the way the chat and AddAccount write it, so a full-width or
// upper-case form unlocks the account (ErrNothingToUnlock only for an
// address nobody uses).
func TestUnlockFindsNormalizedEmail(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, err := e.core.AddAccount(ctx, NewAccount{Email: "alice@example.com", Password: "long enough"})
	if err != nil {
		t.Fatal(err)
	}
	id, err := e.core.Unlock(ctx, "ＡＬＩＣＥ@ｅｘａｍｐｌｅ．ｃｏｍ", "op")
	if err != nil || id != a.ID {
		t.Fatalf("Unlock(full-width) = %q, %v; want %q", id, err, a.ID)
	}
}
