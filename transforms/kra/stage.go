package kra

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/kyc"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/transforms/rta"
)

// Item is one data line of a file with its position (the feed's record).
type Item struct {
	Row  Row
	Kind Kind
	From fund.Origin
}

// Origin returns the item's file position and raw line (for quarantine).
func (it Item) Origin() (pipelines.Position, []byte) { return pipelines.Position(it.From), it.Row.Raw }

// Record is a good line, typed: what the KYC sink applies.
type Record struct {
	Kind        Kind
	PAN         string
	Name        string
	KRA         string
	Code        string
	Status      kyc.Status // kyc_status files
	Inoperative bool       // pan_aadhaar files
	At          time.Time  // the KRA's status time (zero: the file gave none)
	Remarks     string
	From        fund.Origin
}

// Decode is the feed decoder (connectors/feed) for KRA files: it
// decompresses (gzip, zip), reads the header and streams the rows. A file
// whose header is not a KRA file's is refused whole (pipelines.ErrRejectFile);
// a file with a header and no rows is an empty batch (no news), not an error.
func Decode(r io.Reader, file fund.Origin) (func() (Item, error), error) {
	text, closeText, err := rta.Decompress(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", pipelines.ErrRejectFile, file.File, err)
	}
	p, err := NewParser(text)
	if err != nil {
		closeText()
		if errors.Is(err, ErrNotKRAFile) {
			return nil, fmt.Errorf("%w: %s: %w", pipelines.ErrRejectFile, file.File, err)
		}
		return nil, err
	}
	return func() (Item, error) {
		row, err := p.Next()
		if err != nil {
			closeText()
			return Item{}, err
		}
		from := file
		from.Line = row.Line
		return Item{Row: row, Kind: p.Kind(), From: from}, nil
	}, nil
}

// Stage passes good rows on as Records and sends bad ones to quarantine
// with the parser's reason.
func Stage(_ context.Context, it Item) (Record, error) {
	r := it.Row
	if r.Reason != "" {
		return Record{}, &pipelines.RejectError{Reason: r.Reason, Detail: r.Detail}
	}
	return Record{Kind: it.Kind, PAN: r.PAN, Name: r.Name, KRA: r.KRA, Code: r.Code, Status: r.Status, Inoperative: r.Inoperative,
		At: r.At, Remarks: r.Remarks, From: it.From}, nil
}
