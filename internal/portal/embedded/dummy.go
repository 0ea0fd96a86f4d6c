package embedded

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"

	"go.etcd.io/bbolt"
)

// paramsOf returns the "m=…,t=…,p=…" parameter part of a PHC string and
// the hash length, or "" for a malformed one.
func paramsOf(phc string) string {
	p, salt, sum, err := parsePHC(phc)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("m=%d,t=%d,p=%d,k=%d,s=%d", p.Memory, p.Time, p.Threads, len(sum), len(salt))
}

// configured is the parameter key of the configured argon2id parameters.
func (c *Core) configured() string {
	return fmt.Sprintf("m=%d,t=%d,p=%d,k=%d,s=%d", c.argon.Memory, c.argon.Time, c.argon.Threads, c.argon.KeyLen, c.argon.SaltLen)
}

// outdated reports whether the PHC hash phc was made with other argon2id
// parameters than the configured ones.
func (c *Core) outdated(phc string) bool { return paramsOf(phc) != c.configured() }

// loadParams counts the stored password hashes per parameter set and makes
// a dummy hash for each set and for the configured one, so that an unknown
// address costs what a known one costs (OWASP ASVS 5 6.3.8) also after
// the cost was changed and before every hash was re-made.
func (c *Core) loadParams() error {
	c.params, c.dummies = map[string]int{}, map[string]string{}
	var hashes []string
	err := c.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bAccounts).ForEach(func(_, v []byte) error {
			var a accountRec
			if err := json.Unmarshal(v, &a); err != nil {
				return err
			}
			hashes = append(hashes, a.PasswordHash)
			return nil
		})
	})
	if err != nil {
		return err
	}
	for _, h := range hashes {
		c.countParams(h, +1)
	}
	d, err := c.hashPassword(context.Background(), randomText(16))
	if err != nil {
		return err
	}
	c.dummies[c.configured()] = d
	return nil
}

// countParams adds delta to the count of phc's parameter set and makes a
// dummy hash with those parameters when there is none yet.
func (c *Core) countParams(phc string, delta int) {
	key := paramsOf(phc)
	if key == "" {
		return
	}
	c.dummyMu.Lock()
	defer c.dummyMu.Unlock()
	c.params[key] += delta
	if c.params[key] <= 0 {
		delete(c.params, key)
	}
	if _, ok := c.dummies[key]; !ok && delta > 0 {
		p, salt, _, _ := parsePHC(phc)
		// The dummy is the same computation as a real check: a random
		// salt and hash of the same lengths.
		sum := randomBytes(int(p.KeyLen))
		c.dummies[key] = fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", p.Memory, p.Time, p.Threads,
			b64(randomBytes(len(salt))), b64(sum))
	}
}

// dummyFor returns the dummy hash an unknown accountID is checked against:
// one of the parameter sets of the stored hashes, chosen by a keyed hash
// of the id in proportion to how many hashes use it, so the same address
// always costs the same and the mix of costs is the stored accounts' mix.
func (c *Core) dummyFor(accountID string) string {
	c.dummyMu.Lock()
	defer c.dummyMu.Unlock()
	total := 0
	keys := make([]string, 0, len(c.params))
	for k, n := range c.params {
		keys = append(keys, k)
		total += n
	}
	if total == 0 {
		return c.dummies[c.configured()]
	}
	sort.Strings(keys)
	m := hmac.New(sha256.New, c.macKey)
	m.Write([]byte("dummy-cost\x00" + accountID))
	pick := int(binary.BigEndian.Uint64(m.Sum(nil)) % uint64(total))
	for _, k := range keys {
		if pick < c.params[k] {
			return c.dummies[k]
		}
		pick -= c.params[k]
	}
	return c.dummies[c.configured()]
}

// b64 is unpadded standard base64, as in PHC strings.
func b64(b []byte) string { return base64.RawStdEncoding.EncodeToString(b) }
