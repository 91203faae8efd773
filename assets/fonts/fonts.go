// Package fonts embeds the TrueType fonts the PDFs draw with, so a PDF
// carries its own glyphs (the ₹ sign, U+20B9, among them) instead of
// naming a reader's built-in font that has none.
//
// DejaVu Sans Condensed and its bold, DejaVu fonts 2.37, from the npm
// package dejavu-fonts-ttf 2.37.3 (`npm pack dejavu-fonts-ttf@2.37.3`, the
// files ttf/DejaVuSansCondensed.ttf and ttf/DejaVuSansCondensed-Bold.ttf
// as shipped). Licence: LICENSE beside this file (the Bitstream Vera
// licence, DejaVu changes public domain): free to embed and redistribute.
package fonts

import _ "embed"

// Regular is DejaVu Sans Condensed.
//
//go:embed DejaVuSansCondensed.ttf
var Regular []byte

// Bold is DejaVu Sans Condensed Bold.
//
//go:embed DejaVuSansCondensed-Bold.ttf
var Bold []byte
