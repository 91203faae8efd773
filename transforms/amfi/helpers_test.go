package amfi

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// fixtureDir is where the shared AMFI NAVAll fixtures live, seen from this
// package's directory: the repository is /work/main and the fixtures are in
// /work/shared, a sibling of it.
const fixtureDir = "../../../shared/fixtures/amfi/navall"

// fixture returns the bytes of one shared fixture file, failing the test
// with a message that says where it was looked for when it is missing.
func fixture(tb testing.TB, name string) []byte {
	tb.Helper()
	path := filepath.Join(fixtureDir, name)
	b, err := os.ReadFile(path)
	if err != nil {
		abs, _ := filepath.Abs(path)
		tb.Fatalf("AMFI fixture %s not found at %s: the tests expect the shared fixtures "+
			"(fixtures/amfi/navall/ with PROVENANCE.md) checked out as a sibling of the repository "+
			"(repo /work/main, fixtures /work/shared): %v", name, abs, err)
	}
	return b
}

// parseAll streams input through a Parser and returns every row.
func parseAll(tb testing.TB, input []byte) (*Parser, []Row) {
	tb.Helper()
	p, err := NewParser(bytes.NewReader(input))
	if err != nil {
		tb.Fatalf("NewParser: %v", err)
	}
	var rows []Row
	for {
		row, err := p.Next()
		if errors.Is(err, io.EOF) {
			return p, rows
		}
		if err != nil {
			tb.Fatalf("Next after %d rows: %v", len(rows), err)
		}
		rows = append(rows, row)
	}
}

// mustCheck runs Check and fails on error.
func mustCheck(tb testing.TB, input []byte) Report {
	tb.Helper()
	rep, err := Check(bytes.NewReader(input))
	if err != nil {
		tb.Fatalf("Check: %v", err)
	}
	return rep
}
