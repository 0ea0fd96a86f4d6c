// Package qrdecode reads the text back out of a QR code image. It exists for
// tests: other packages decode the PNG they were about to send to prove it
// carries the exact otpauth URI. It uses github.com/makiuchi-d/gozxing, a
// port of ZXing.
package qrdecode

import (
	"bytes"
	"fmt"
	"image"
	_ "image/png" // register the PNG decoder for image.Decode

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// Decode decodes the PNG image img (JPEG and GIF are not registered) and
// returns the text of the one QR code it shows. The code must be dark on
// light with its quiet zone; it may be scaled but should not be rotated by
// other than a multiple of 90°.
//
// Decode returns an error when img is not a PNG image or when no QR code
// can be found or read in it (for example an inverted or damaged code).
func Decode(img []byte) (string, error) {
	m, _, err := image.Decode(bytes.NewReader(img))
	if err != nil {
		return "", fmt.Errorf("qrdecode: decode image: %w", err)
	}
	return DecodeImage(m)
}

// DecodeImage is [Decode] for an image already in memory.
func DecodeImage(m image.Image) (string, error) {
	bmp, err := gozxing.NewBinaryBitmapFromImage(m)
	if err != nil {
		return "", fmt.Errorf("qrdecode: binarize: %w", err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		// gozxing's finder-pattern detector misses about 1 in 150 clean
		// synthetic codes; a pure, unrotated code can be read by its
		// bounding box instead (ZXing's PURE_BARCODE hint).
		pure := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true}
		res, err = qrcode.NewQRCodeReader().Decode(bmp, pure)
	}
	if err != nil {
		return "", fmt.Errorf("qrdecode: read QR code: %w", err)
	}
	return res.GetText(), nil
}
