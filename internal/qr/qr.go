// Package qr renders a QR code for an otpauth URI (or any short text): as a
// PNG image for the chat platforms and as half-block text for a terminal.
//
// Both renderings use error-correction level M (about 15 % of the code may be
// damaged and still decode) and keep the 4-module quiet zone, as
// ISO/IEC 18004 requires and as the security checklist (item 26) asks. The
// PNG uses a whole number of pixels per module so that every module has the
// same size; fractional scaling makes dense codes hard to scan
// (skip2/go-qrcode issue #39).
package qr

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"sync"

	qrcode "github.com/skip2/go-qrcode"
)

// PixelsPerModule is the width and height, in pixels, of one QR module in
// the images [PNG] returns.
const PixelsPerModule = 8

// QuietZone is the width, in modules, of the light border that [PNG] and
// [Terminal] keep on each side of the code (ISO/IEC 18004 §6.3.8).
const QuietZone = 4

// ErrEmptyContent is returned by [PNG] and [Terminal] when the content to
// encode is the empty string.
var ErrEmptyContent = errors.New("qr: empty content")

// PNG encodes content as a QR code at error-correction level M and returns
// it as a PNG image: black modules on a white background, the quiet zone
// kept, [PixelsPerModule] pixels per module. The image is square; its width
// in pixels is (17 + 4×version + 2×[QuietZone]) × [PixelsPerModule], where
// version (1-40) is the smallest QR version that holds content — 456 px for
// a typical 120-140 character otpauth URI (version 8).
//
// PNG returns [ErrEmptyContent] for empty content and an error when content
// is too long for a version-40 code (about 2,300 bytes at level M). It is
// safe for concurrent use.
func PNG(content string) ([]byte, error) {
	q, err := encode(content)
	if err != nil {
		return nil, err
	}
	pix, _ := pixPool.Get().(*[]byte)
	if pix == nil {
		pix = new([]byte)
	}
	defer func() {
		// The pixels draw the otpauth URI, secret included: wiped
		// before the buffer waits in the pool for the next code.
		clear(*pix)
		pixPool.Put(pix)
	}()
	img := paletted(q.Bitmap(), pix)
	// go-qrcode's own PNG method compresses at png.BestCompression and
	// draws pixel by pixel; a 1-bit image that BestSpeed compresses
	// almost as well, filled row by row, costs a fraction of that (issue
	// 14: the QR code's PNG was a third of the server's CPU under load).
	b := bytes.NewBuffer(make([]byte, 0, pngSizeHint))
	enc := png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: pngBuffers{}}
	if err := enc.Encode(b, img); err != nil {
		return nil, fmt.Errorf("qr: write PNG: %w", err)
	}
	return b.Bytes(), nil
}

// pngSizeHint is the starting capacity of the PNG's buffer: more than
// the 10 KB a version-8 code compresses to, so that it is not grown
// and copied several times.
const pngSizeHint = 16 << 10

// pixPool holds pixel buffers for [paletted] (a version-8 code's image
// is 208 KB, allocated per code otherwise; issue 14).
var pixPool sync.Pool

// palette is the PNG's colours: index 0 light (white), 1 dark (black),
// padded to 17 entries so that image/png writes 8-bit indexes, which it
// copies row by row (a palette of 16 or fewer is packed pixel by pixel
// through an interface call, 3× slower for the same image); the padding
// entries are never used and deflate makes the 8-bit rows as small.
var palette = func() color.Palette {
	p := color.Palette{color.White, color.Black}
	for len(p) < 17 {
		p = append(p, color.White)
	}
	return p
}()

// paletted draws go-qrcode's module bitmap (true: dark; the quiet zone
// included) as an image.Paletted with [PixelsPerModule] pixels per
// module, filling each pixel row once per module row and copying it for
// the other pixel rows of that module row. The image's pixels are *pix,
// grown (and *pix replaced) when too small, which must be all zero (PNG
// clears the buffers it pools); the image must not be used once *pix is
// used again.
func paletted(bm [][]bool, pix *[]byte) *image.Paletted {
	const ppm = PixelsPerModule
	n := len(bm) * ppm
	if cap(*pix) < n*n {
		*pix = make([]byte, n*n)
	}
	p := (*pix)[:n*n] // all zero (light): PNG clears a buffer before pooling it
	img := &image.Paletted{Pix: p, Stride: n, Rect: image.Rect(0, 0, n, n), Palette: palette}
	for y, modules := range bm {
		row := img.Pix[y*ppm*img.Stride : y*ppm*img.Stride+n]
		for x, dark := range modules {
			if dark {
				for i := range ppm {
					row[x*ppm+i] = 1
				}
			}
		}
		for i := 1; i < ppm; i++ {
			copy(img.Pix[(y*ppm+i)*img.Stride:], row)
		}
	}
	return img
}

// pngBuffers reuses the PNG encoder's buffers (its zlib writer is 600 KiB
// of state to allocate per image otherwise).
type pngBuffers struct{}

var pngPool sync.Pool

// Get returns a pooled encoder buffer, or nil for a new one.
func (pngBuffers) Get() *png.EncoderBuffer {
	b, _ := pngPool.Get().(*png.EncoderBuffer)
	return b
}

// Put returns b to the pool.
func (pngBuffers) Put(b *png.EncoderBuffer) { pngPool.Put(b) }

// Terminal encodes content as a QR code at error-correction level M and
// returns it as text for a monospaced terminal: each character cell holds
// two module rows using the half-block characters U+2580 '▀', U+2584 '▄',
// U+2588 '█' and the space, so the result has ceil(M/2) lines of M
// characters each, every line ending in "\n", where M = 17 + 4×version +
// 2×[QuietZone] modules.
//
// The characters draw the light modules when inverse is false: the
// terminal's foreground colour becomes the code's light colour and the
// background shows through as the dark modules. That is correct on a
// terminal with a dark background and light text (the common "dark theme").
// On a terminal with a light background and dark text pass inverse = true,
// which draws the dark modules instead. With the wrong choice the code
// appears with its colours swapped, which many scanner apps cannot read.
//
// Terminal returns [ErrEmptyContent] for empty content and an error when
// content is too long to encode. It is safe for concurrent use.
func Terminal(content string, inverse bool) (string, error) {
	q, err := encode(content)
	if err != nil {
		return "", err
	}
	return q.ToSmallString(inverse), nil
}

// encode builds a fresh QR code for content. A *qrcode.QRCode must not be
// rendered twice: each rendering appends terminator bits to its data again.
func encode(content string) (*qrcode.QRCode, error) {
	if content == "" {
		return nil, ErrEmptyContent
	}
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("qr: encode %d bytes: %w", len(content), err)
	}
	return q, nil
}
