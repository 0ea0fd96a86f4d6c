package qrdecode_test

import (
	"bytes"
	"image"
	"image/png"
	"testing"

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
