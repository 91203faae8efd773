package testkit

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// EmbeddedFonts checks with poppler's pdffonts that every font the PDF
// uses is embedded (the ₹ sign then draws whatever the reader has).
func EmbeddedFonts(t *testing.T, pdf []byte) {
	t.Helper()
	in := filepath.Join(t.TempDir(), "f.pdf")
	if err := os.WriteFile(in, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdffonts", in).Output()
	if err != nil {
		t.Fatalf("pdffonts: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 3 {
		t.Fatalf("pdffonts lists no font:\n%s", out)
	}
	for _, l := range lines[2:] {
		f := strings.Fields(l)
		// name type... encoding emb sub uni id gen: emb is the 5th field from the end
		if len(f) < 6 || f[len(f)-5] != "yes" {
			t.Errorf("a font is not embedded: %q", l)
		}
	}
}
