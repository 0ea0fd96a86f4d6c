package qr_test

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"

	qrcode "github.com/skip2/go-qrcode"

	"guidedfix/internal/qr"
	"guidedfix/internal/qr/qrdecode"
)

// uri is a Key URI as the portal core produces it (143 bytes). At level M
// it needs QR version 8: 17 + 4×8 = 49 modules, 57 with the quiet zone.
const uri = "otpauth://totp/IP%20ServerOne:alice@example.com?algorithm=SHA1&digits=6&issuer=IP%20ServerOne&period=30&secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

const (
	wantModules = 17 + 4*8 + 2*qr.QuietZone // 57
	wantWidth   = wantModules * 8           // 456 px
	wantLines   = (wantModules + 1) / 2     // 29
)

func TestPNGRoundTrip(t *testing.T) {
	b, err := qr.PNG(uri)
	if err != nil {
		t.Fatalf("PNG: %v", err)
	}
	got, err := qrdecode.Decode(b)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if got != uri {
		t.Fatalf("decoded %q, want %q", got, uri)
	}
}

func TestPNGGeometry(t *testing.T) {
	b, err := qr.PNG(uri)
	if err != nil {
		t.Fatalf("PNG: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("png.Decode: %v", err)
	}
	r := img.Bounds()
	if r.Dx() != wantWidth || r.Dy() != wantWidth {
		t.Fatalf("image is %dx%d, want %dx%d", r.Dx(), r.Dy(), wantWidth, wantWidth)
	}
	if r.Dx()%qr.PixelsPerModule != 0 {
		t.Fatalf("width %d is not a multiple of %d", r.Dx(), qr.PixelsPerModule)
	}
	// The quiet zone (4 modules = 32 px on every side) is entirely white,
	// and the top-left finder pattern starts right after it with black.
	border := qr.QuietZone * qr.PixelsPerModule
	for y := 0; y < r.Dy(); y++ {
		for x := 0; x < r.Dx(); x++ {
			inBorder := x < border || y < border || x >= r.Dx()-border || y >= r.Dy()-border
			if inBorder && !isLight(img.At(x, y)) {
				t.Fatalf("pixel (%d,%d) in the quiet zone is dark", x, y)
			}
		}
	}
	if isLight(img.At(border, border)) {
		t.Fatalf("pixel (%d,%d), the finder pattern's corner, is light", border, border)
	}
	// Every module is a uniform 8x8 block.
	for my := 0; my < wantModules; my++ {
		for mx := 0; mx < wantModules; mx++ {
			want := isLight(img.At(mx*8, my*8))
			for dy := 0; dy < 8; dy++ {
				for dx := 0; dx < 8; dx++ {
					if isLight(img.At(mx*8+dx, my*8+dy)) != want {
						t.Fatalf("module (%d,%d) is not uniform at offset (%d,%d)", mx, my, dx, dy)
					}
				}
			}
		}
	}
}

func TestEmptyContent(t *testing.T) {
	if _, err := qr.PNG(""); !errors.Is(err, qr.ErrEmptyContent) {
		t.Errorf("PNG(\"\") error = %v, want ErrEmptyContent", err)
	}
	if _, err := qr.Terminal("", false); !errors.Is(err, qr.ErrEmptyContent) {
		t.Errorf("Terminal(\"\") error = %v, want ErrEmptyContent", err)
	}
}

func TestTooLong(t *testing.T) {
	if _, err := qr.PNG(strings.Repeat("x", 3000)); err == nil {
		t.Fatal("PNG of 3000 bytes: no error")
	}
}

func TestTerminalShape(t *testing.T) {
	for _, inverse := range []bool{false, true} {
		s, err := qr.Terminal(uri, inverse)
		if err != nil {
			t.Fatalf("Terminal(inverse=%v): %v", inverse, err)
		}
		if !strings.HasSuffix(s, "\n") {
			t.Errorf("inverse=%v: output does not end in a newline", inverse)
		}
		lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
		if len(lines) != wantLines {
			t.Fatalf("inverse=%v: %d lines, want %d", inverse, len(lines), wantLines)
		}
		for i, l := range lines {
			if n := len([]rune(l)); n != wantModules {
				t.Fatalf("inverse=%v: line %d has %d characters, want %d", inverse, i, n, wantModules)
			}
			if strings.Trim(l, " ▀▄█") != "" {
				t.Fatalf("inverse=%v: line %d has characters other than space and half blocks: %q", inverse, i, l)
			}
		}
	}
}

// TestTerminalColours pins what inverse means by drawing the text as a
// terminal would and scanning it: the glyphs are painted in the terminal's
// foreground colour over its background colour.
func TestTerminalColours(t *testing.T) {
	tests := []struct {
		name      string
		inverse   bool
		inkLight  bool // foreground colour of the terminal
		wantValid bool
	}{
		{"inverse=false on dark background", false, true, true},
		{"inverse=true on light background", true, false, true},
		{"inverse=false on light background", false, false, false},
		{"inverse=true on dark background", true, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := qr.Terminal(uri, tt.inverse)
			if err != nil {
				t.Fatalf("Terminal: %v", err)
			}
			img := paint(s, tt.inkLight)
			got, err := qrdecode.DecodeImage(img)
			if tt.wantValid {
				if err != nil || got != uri {
					t.Fatalf("scan = %q, %v; want %q", got, err, uri)
				}
				return
			}
			if err == nil && got == uri {
				t.Fatalf("an inverted rendering scanned as a normal code; the test cannot tell the cases apart")
			}
		})
	}
}

// paint renders half-block text at 4x4 px per module: each character cell
// is one module wide and two modules high; ink pixels get the foreground
// colour, the rest the background colour.
func paint(s string, inkLight bool) image.Image {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	const px = 4
	w := len([]rune(lines[0]))
	h := 2 * len(lines)
	img := image.NewGray(image.Rect(0, 0, w*px, h*px))
	ink, paper := color.Gray{Y: 0}, color.Gray{Y: 255}
	if inkLight {
		ink, paper = paper, ink
	}
	for row, l := range lines {
		for col, r := range []rune(l) {
			var top, bottom bool // whether ink is drawn
			switch r {
			case '█':
				top, bottom = true, true
			case '▀':
				top = true
			case '▄':
				bottom = true
			}
			for half, on := range []bool{top, bottom} {
				c := paper
				if on {
					c = ink
				}
				for dy := 0; dy < px; dy++ {
					for dx := 0; dx < px; dx++ {
						img.SetGray(col*px+dx, (2*row+half)*px+dy, c)
					}
				}
			}
		}
	}
	return img
}

func isLight(c color.Color) bool {
	r, g, b, _ := c.RGBA()
	return r+g+b > 3*0x8000
}

func BenchmarkPNG(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := qr.PNG(uri); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPNGMatchesModules: the PNG has, at PixelsPerModule pixels per
// module, exactly the modules of the level-M code skip2/go-qrcode encodes
// for the content (its Bitmap, quiet zone included), inside the white
// quiet zone.
func TestPNGMatchesModules(t *testing.T) { checkModules(t) }

// TestPNGReusedPixelsCleared: after codes of other contents (a larger
// version first, then one of the same size), whose pixel buffers PNG
// reuses, the PNG of uri still has exactly its own modules.
func TestPNGReusedPixelsCleared(t *testing.T) {
	for _, other := range []string{strings.Repeat("guidedfix-", 40), strings.Replace(uri, "JBSWY3DP", "KRSXG5BA", 1)} {
		if _, err := qr.PNG(other); err != nil {
			t.Fatal(err)
		}
		checkModules(t)
	}
}

func checkModules(t *testing.T) {
	t.Helper()
	b, err := qr.PNG(uri)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	q, err := qrcode.New(uri, qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	bm := q.Bitmap()
	if len(bm) != wantModules {
		t.Fatalf("%d modules, want %d", len(bm), wantModules)
	}
	for my := range wantModules {
		for mx := range wantModules {
			dark := bm[my][mx]
			for dy := range qr.PixelsPerModule {
				for dx := range qr.PixelsPerModule {
					x, y := mx*qr.PixelsPerModule+dx, my*qr.PixelsPerModule+dy
					if isLight(img.At(x, y)) == dark {
						t.Fatalf("pixel (%d,%d) of module (%d,%d): dark %v in the code", x, y, mx, my, dark)
					}
				}
			}
		}
	}
}
