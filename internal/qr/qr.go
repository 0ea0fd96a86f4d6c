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
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"sync"

	goqr "github.com/piglig/go-qr"
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
	bm, err := bitmap(content)
	if err != nil {
		return nil, err
	}
	return writePNG(bm)
}

// bitmap encodes content (byte mode) as the smallest QR code at exactly
// error-correction level M, with the best of the 8 masks (ISO/IEC 18004
// §7.8.3 penalty rules), and returns its modules (true: dark) with the
// [QuietZone] around them. It uses github.com/piglig/go-qr (a port of
// Nayuki's QR Code generator), about three times faster than go-qrcode's
// encoder, whose Reed-Solomon coder allocates per polynomial operation
// (issue 14: go-qrcode's encoder was 13 % of the server's CPU under
// load). [Terminal] keeps go-qrcode.
func bitmap(content string) ([][]bool, error) {
	if content == "" {
		return nil, ErrEmptyContent
	}
	seg, err := goqr.MakeBytes([]byte(content))
	if err != nil {
		return nil, fmt.Errorf("qr: encode %d bytes: %w", len(content), err)
	}
	q, err := goqr.EncodeSegments([]*goqr.QrSegment{seg}, goqr.Medium, goqr.MinVersion, goqr.MaxVersion, -1, false)
	if err != nil {
		return nil, fmt.Errorf("qr: encode %d bytes: %w", len(content), err)
	}
	n := q.Size() + 2*QuietZone
	bm := make([][]bool, n)
	cells := make([]bool, n*n)
	for y := range n {
		bm[y] = cells[y*n : (y+1)*n]
		for x := range n {
			bm[y][x] = q.Module(x-QuietZone, y-QuietZone)
		}
	}
	return bm, nil
}

// writePNG writes the module bitmap (true: dark; the quiet zone included,
// as go-qrcode's Bitmap returns it) as a 1-bit greyscale PNG (RFC 2083 /
// ISO/IEC 15948: IHDR bit depth 1, colour type 0; one filter-type-0 byte
// per row; IDAT zlib at BestSpeed; IEND), [PixelsPerModule] pixels per
// module. With 8 pixels per module each module is one whole byte of a
// row (0x00 dark, 0xFF light), so a row is built once per module row and
// written 8 times. go-qrcode's Image (a pixel-by-pixel Set on an
// image.Paletted) and image/png's generic packing took about two thirds
// of the QR code's CPU (issue 14); this draws the same image.
func writePNG(bm [][]bool) ([]byte, error) {
	n := len(bm)
	if n == 0 {
		return nil, errors.New("qr: empty bitmap")
	}
	const ppm = PixelsPerModule
	width := n * ppm
	var out bytes.Buffer
	out.Grow(2048)
	out.Write([]byte("\x89PNG\r\n\x1a\n"))
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(width))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(width))
	ihdr[8], ihdr[9] = 1, 0 // bit depth 1, greyscale; compression, filter, interlace 0
	writeChunk(&out, "IHDR", ihdr[:])

	z := zlibPool.Get().(*zlibBuffer)
	defer zlibPool.Put(z)
	z.buf.Reset()
	z.w.Reset(&z.buf)
	row := make([]byte, 1+width/8) // filter byte, then one byte per module
	for _, modules := range bm {
		for x, dark := range modules {
			row[1+x] = 0xFF
			if dark {
				row[1+x] = 0x00
			}
		}
		for range ppm {
			if _, err := z.w.Write(row); err != nil {
				return nil, fmt.Errorf("qr: write PNG: %w", err)
			}
		}
	}
	if err := z.w.Close(); err != nil {
		return nil, fmt.Errorf("qr: write PNG: %w", err)
	}
	writeChunk(&out, "IDAT", z.buf.Bytes())
	writeChunk(&out, "IEND", nil)
	return out.Bytes(), nil
}

// writeChunk appends one PNG chunk: length, type, data, CRC-32 of type and
// data.
func writeChunk(out *bytes.Buffer, typ string, data []byte) {
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(len(data)))
	copy(hdr[4:], typ)
	out.Write(hdr[:])
	out.Write(data)
	crc := crc32.NewIEEE()
	crc.Write(hdr[4:])
	crc.Write(data)
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], crc.Sum32())
	out.Write(sum[:])
}

// zlibBuffer is a reusable zlib writer (about 600 KiB of deflate state
// per allocation) with its output buffer.
type zlibBuffer struct {
	buf bytes.Buffer
	w   *zlib.Writer
}

var zlibPool = sync.Pool{New: func() any {
	z := &zlibBuffer{}
	z.w, _ = zlib.NewWriterLevel(&z.buf, zlib.BestSpeed)
	return z
}}

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
