package embedded

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

const keySize = 32 // AES-256

// loadKey returns explicit when set (it must be 32 bytes), else the 32-byte
// key in file, creating the file (0600, crypto/rand) when it is missing.
func loadKey(explicit []byte, file string) ([]byte, error) {
	if explicit != nil {
		if len(explicit) != keySize {
			return nil, fmt.Errorf("portal: key must be %d bytes, got %d", keySize, len(explicit))
		}
		return explicit, nil
	}
	if file == "" {
		return nil, errors.New("portal: Options.Key or Options.KeyFile is required")
	}
	key, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		key = randomBytes(keySize)
		err = writeNewFile(file, key)
		if errors.Is(err, fs.ErrExist) { // created concurrently: use that one
			key, err = os.ReadFile(file)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("portal: key file: %w", err)
	}
	if err := checkKeyMode(file); err != nil {
		return nil, err
	}
	if len(key) != keySize {
		return nil, fmt.Errorf("portal: key file %s must hold %d bytes, has %d", file, keySize, len(key))
	}
	return key, nil
}

// ErrKeyFileMode is returned by Open when the key file can be read by
// its group or by others (issue 11 item 11): the key decrypts every TOTP
// secret. The error names the chmod that fixes it.
var ErrKeyFileMode = errors.New("portal: key file readable by group or others")

// checkKeyMode refuses a key file with any group or other permission bit
// set, naming the command that fixes it.
func checkKeyMode(file string) error {
	fi, err := os.Stat(file)
	if err != nil {
		return fmt.Errorf("portal: key file: %w", err)
	}
	if m := fi.Mode().Perm(); m&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %04o; run: chmod 600 %s", ErrKeyFileMode, file, m, file)
	}
	return nil
}

// writeNewFile creates file (0600) holding data, failing with
// fs.ErrExist when it exists. The data is written to a temporary file and
// linked into place, so a concurrent reader never sees a partial file.
func writeNewFile(file string, data []byte) error {
	dir := filepath.Dir(file)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".key-*.tmp") // 0600
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Link(tmp.Name(), file)
}

// setKeys installs the sealing key and derives the SMS-code MAC key from it
// with HKDF-SHA256 (RFC 5869), so the two uses never share a key.
func (c *Core) setKeys(key []byte) error {
	mac, err := hkdf.Key(sha256.New, key, nil, "guidedfix portal sms-code hmac-sha256", 32)
	if err != nil {
		return err
	}
	c.sealKey = append([]byte(nil), key...)
	c.macKey = mac
	return nil
}

// seal encrypts plaintext with AES-256-GCM under a random 96-bit nonce
// (NIST SP 800-38D), binding it to aad; the result is nonce || ciphertext.
func (c *Core) seal(plaintext []byte, aad string) []byte {
	gcm := c.gcm()
	nonce := randomBytes(gcm.NonceSize())
	return gcm.Seal(nonce, nonce, plaintext, []byte(aad))
}

// unseal reverses seal; it fails when the data or aad were altered.
func (c *Core) unseal(sealed []byte, aad string) ([]byte, error) {
	gcm := c.gcm()
	if len(sealed) < gcm.NonceSize() {
		return nil, errors.New("portal: sealed secret too short")
	}
	n := gcm.NonceSize()
	plain, err := gcm.Open(nil, sealed[:n], sealed[n:], []byte(aad))
	if err != nil {
		return nil, fmt.Errorf("portal: cannot decrypt secret (wrong key?): %w", err)
	}
	return plain, nil
}

func (c *Core) gcm() cipher.AEAD {
	block, err := aes.NewCipher(c.sealKey)
	if err != nil {
		panic(err) // key length is checked in loadKey
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return gcm
}

// codeMAC returns HMAC-SHA256(macKey, challengeID || code): how an SMS code
// is stored.
func (c *Core) codeMAC(challengeID, code string) []byte {
	m := hmac.New(sha256.New, c.macKey)
	m.Write([]byte(challengeID))
	m.Write([]byte(code))
	return m.Sum(nil)
}

// DeriveKey returns a 32-byte key for purpose (a non-empty label such as
// "sessions inbox"), derived from the core's sealing key (Options.Key or
// the key file) with HKDF-SHA256 (RFC 5869, info "guidedfix " + purpose).
// Other parts of guidedfix seal their data with it, without a key file of
// their own and without sharing a key with the core: different purposes
// give independent keys, and the same purpose the same key on every open.
// It fails for an empty purpose.
func (c *Core) DeriveKey(purpose string) ([]byte, error) {
	if purpose == "" {
		return nil, errors.New("portal: DeriveKey needs a purpose")
	}
	return hkdf.Key(sha256.New, c.sealKey, nil, "guidedfix "+purpose, keySize)
}
