package store

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"guidedfix/bot"
)

// bucketLocales holds each user's chosen language (bot.LocaleStore),
// created by the first SetUserLocale: channel + "\x00" + platform user id
// → the BCP 47 tag as ASCII bytes ("ms"). Part of the on-disk format.
const bucketLocales = "user_locales"

var _ bot.LocaleStore = (*Bolt)(nil)

// userKey returns channel + "\x00" + userID, the key of a user in the
// user_locales bucket; it fails like seenKey for an empty or
// NUL-containing channel and an empty userID.
func userKey(channel, userID string) ([]byte, error) {
	if err := checkChannel(channel); err != nil {
		return nil, err
	}
	if userID == "" {
		return nil, fmt.Errorf("%w: empty user id on channel %q", errBadKey, channel)
	}
	return []byte(channel + sep + userID), nil
}

// CheckTag reports whether tag may be stored as a user's language: 1 to
// 35 ASCII letters, digits and '-' (the longest BCP 47 tags, RFC 5646
// §4.4.1), or "" (no choice). It returns an error wrapping the key error
// otherwise.
func CheckTag(tag string) error {
	if len(tag) > 35 {
		return fmt.Errorf("%w: language tag of %d bytes", errBadKey, len(tag))
	}
	for _, r := range tag {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Errorf("%w: language tag %q", errBadKey, tag)
		}
	}
	return nil
}

// UserLocale returns the language tag stored for user userID of channel
// by SetUserLocale, or "" when none is. It fails for the keys userKey
// refuses, a cancelled ctx or a closed store.
func (b *Bolt) UserLocale(ctx context.Context, channel, userID string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("store: user locale: %w", err)
	}
	key, err := userKey(channel, userID)
	if err != nil {
		return "", err
	}
	var tag string
	err = b.db.View(func(tx *bolt.Tx) error {
		if bk := tx.Bucket([]byte(bucketLocales)); bk != nil {
			tag = string(bk.Get(key)) // string() copies out of the tx
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("store: user locale: %w", err)
	}
	return tag, nil
}

// SetUserLocale stores tag as the language of user userID of channel, in
// one fsync'ed write shared with concurrent writers (group commit); an
// empty tag removes the record. It fails for the keys userKey refuses, a
// tag CheckTag refuses, a cancelled ctx, a closed store or a failed write.
func (b *Bolt) SetUserLocale(ctx context.Context, channel, userID, tag string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: set user locale: %w", err)
	}
	key, err := userKey(channel, userID)
	if err != nil {
		return err
	}
	if err := CheckTag(tag); err != nil {
		return err
	}
	err = b.writes.Write(func(tx *bolt.Tx) error {
		bk, err := tx.CreateBucketIfNotExists([]byte(bucketLocales))
		if err != nil {
			return err
		}
		if tag == "" {
			return bk.Delete(key)
		}
		return bk.Put(key, []byte(tag))
	})
	if err != nil {
		return fmt.Errorf("store: set user locale: %w", err)
	}
	return nil
}
