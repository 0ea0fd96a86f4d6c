package etcdstore

import (
	"context"
	"fmt"

	"guidedfix/bot"
	"guidedfix/internal/store"
)

var _ bot.LocaleStore = (*Store)(nil)

// localeKey returns P + "p/" + channel + "\x00" + userID, the key of a
// user's chosen language; it fails for an invalid channel or an empty
// userID.
func (s *Store) localeKey(channel, userID string) (string, error) {
	if err := checkChannel(channel); err != nil {
		return "", err
	}
	if userID == "" {
		return "", fmt.Errorf("%w: empty user id on channel %q", errBadKey, channel)
	}
	return s.prefix + "p/" + channel + "\x00" + userID, nil
}

// UserLocale returns the language tag stored for user userID of channel
// by SetUserLocale, or "" when none is (bot.LocaleStore). It fails for an
// invalid channel, an empty userID, a cancelled ctx, a closed store or an
// unreachable cluster.
func (s *Store) UserLocale(ctx context.Context, channel, userID string) (string, error) {
	if err := s.check(ctx, "user locale"); err != nil {
		return "", err
	}
	key, err := s.localeKey(channel, userID)
	if err != nil {
		return "", err
	}
	gctx, cancel := s.ctx(ctx)
	defer cancel()
	resp, err := s.cli.Get(gctx, key)
	if err != nil {
		return "", fmt.Errorf("etcdstore: user locale: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return "", nil
	}
	return string(resp.Kvs[0].Value), nil
}

// SetUserLocale stores tag as the language of user userID of channel
// under P + "p/" (no lease: it lasts until changed), acknowledged by the
// cluster's quorum before it returns; an empty tag deletes the key. It
// fails for an invalid channel, an empty userID, a tag store.CheckTag
// refuses, a cancelled ctx, a closed store or an unreachable cluster.
func (s *Store) SetUserLocale(ctx context.Context, channel, userID, tag string) error {
	if err := s.check(ctx, "set user locale"); err != nil {
		return err
	}
	key, err := s.localeKey(channel, userID)
	if err != nil {
		return err
	}
	if err := store.CheckTag(tag); err != nil {
		return err
	}
	pctx, cancel := s.ctx(ctx)
	defer cancel()
	if tag == "" {
		_, err = s.cli.Delete(pctx, key)
	} else {
		_, err = s.cli.Put(pctx, key, tag)
	}
	if err != nil {
		return fmt.Errorf("etcdstore: set user locale: %w", err)
	}
	return nil
}
