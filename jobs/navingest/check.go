package navingest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/transforms/amfi"
	"github.com/fundflow/fundflow/transforms/nav"
)

// CheckFile is `fundflow check nav`: nav-ingest's decoder and stage v over
// a file (nav.Check), writing nothing; the file is streamed, never read
// into memory.
func CheckFile(ctx context.Context, path string, v *nav.Validator) (amfi.Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return amfi.Report{}, err
	}
	defer f.Close()
	rep, err := nav.Check(ctx, f, fund.Origin{File: filepath.Base(path)}, v)
	if err != nil {
		return rep, fmt.Errorf("%s: %w", path, err)
	}
	return rep, nil
}
