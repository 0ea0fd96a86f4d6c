package qrdecode_test

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"testing"

	"github.com/pquerna/otp/totp"

	"guidedfix/internal/qr"

	"guidedfix/internal/qr/qrdecode"
)

func TestDecodeRejectsNonPNG(t *testing.T) {
	if _, err := qrdecode.Decode([]byte("not an image")); err == nil {
		t.Fatal("Decode of text: no error")
	}
}

func TestDecodeBlankImage(t *testing.T) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 64, 64))); err != nil {
		t.Fatal(err)
	}
	if got, err := qrdecode.Decode(buf.Bytes()); err == nil {
		t.Fatalf("Decode of a blank image = %q, want an error", got)
	}
}

// TestDecodesManyRandomKeys encodes 300 otpauth URIs with random secrets
// (the detector alone misses some of them) and decodes every one back.
func TestDecodesManyRandomKeys(t *testing.T) {
	for i := 0; i < 300; i++ {
		k, err := totp.Generate(totp.GenerateOpts{Issuer: "IP ServerOne", AccountName: fmt.Sprintf("user%d@example.com", i%7)})
		if err != nil {
			t.Fatal(err)
		}
		png, err := qr.PNG(k.URL())
		if err != nil {
			t.Fatal(err)
		}
		got, err := qrdecode.Decode(png)
		if err != nil || got != k.URL() {
			t.Fatalf("key %d: decoded %q, %v", i, got, err)
		}
	}
}
