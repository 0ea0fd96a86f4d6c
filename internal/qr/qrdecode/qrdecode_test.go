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

// TestDecodesCodesTheDetectorMisses decodes otpauth URIs whose QR codes
// gozxing's finder-pattern detector alone cannot read (found by trying
// random keys), and a few random ones.
func TestDecodesCodesTheDetectorMisses(t *testing.T) {
	uris := []string{
		"otpauth://totp/IP%20ServerOne:user6@example.com?algorithm=SHA1&digits=6&issuer=IP%20ServerOne&period=30&secret=OYKJ4TQGJTV2COLEIEEB3F3FNMM2YSL2",
		"otpauth://totp/IP%20ServerOne:user2@example.com?algorithm=SHA1&digits=6&issuer=IP%20ServerOne&period=30&secret=O7SUOVSLADCSUM44HY46QTM5JAJDNW73",
		"otpauth://totp/IP%20ServerOne:user5@example.com?algorithm=SHA1&digits=6&issuer=IP%20ServerOne&period=30&secret=JBIZ2ZPWMMPVGHZAKOIZ3CX4APTKRVE7",
	}
	for i := 0; i < 20; i++ {
		k, err := totp.Generate(totp.GenerateOpts{Issuer: "IP ServerOne", AccountName: fmt.Sprintf("user%d@example.com", i)})
		if err != nil {
			t.Fatal(err)
		}
		uris = append(uris, k.URL())
	}
	for _, uri := range uris {
		png, err := qr.PNG(uri)
		if err != nil {
			t.Fatal(err)
		}
		got, err := qrdecode.Decode(png)
		if err != nil || got != uri {
			t.Fatalf("%s: decoded %q, %v", uri, got, err)
		}
	}
}
