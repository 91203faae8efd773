package rta

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/pipelines"
)

// Item is one parsed data line of a feed file, with its position.
type Item struct {
	Row    Row
	Layout *Layout
	From   fund.Origin
}

// Origin returns the item's file position and raw line (for quarantine).
func (it Item) Origin() (pipelines.Position, []byte) { return pipelines.Position(it.From), it.Row.Raw }

// Decode is the feed decoder (connectors/feed) for RTA files: it
// decompresses, identifies the layout by the header and streams the rows.
// A file that is not a known feed, or has a header and no rows, is refused
// as a whole (pipelines.ErrRejectFile): an RTA sending an empty holdings
// file must be looked at, not read as "nobody holds anything".
func Decode(r io.Reader, file fund.Origin) (func() (Item, error), error) {
	text, closeText, err := Decompress(r)
	if err != nil {
		return nil, rejectFile(file, err)
	}
	p, err := NewParser(text)
	if err != nil {
		closeText()
		return nil, rejectFile(file, err)
	}
	first, err := p.Next()
	if errors.Is(err, io.EOF) {
		closeText()
		return nil, fmt.Errorf("%w: %s is a %s file with a header and no rows", pipelines.ErrRejectFile, file.File, p.Layout().Name)
	}
	if err != nil {
		closeText()
		return nil, err
	}
	pending := &first
	return func() (Item, error) {
		var row Row
		if pending != nil {
			row, pending = *pending, nil
		} else {
			var err error
			if row, err = p.Next(); err != nil {
				closeText()
				return Item{}, err
			}
		}
		from := file
		from.Line = row.Line
		return Item{Row: row, Layout: p.Layout(), From: from}, nil
	}, nil
}

func rejectFile(file fund.Origin, err error) error {
	if errors.Is(err, ErrNotRTAFile) {
		return fmt.Errorf("%w: %s: %w", pipelines.ErrRejectFile, file.File, err)
	}
	return err
}

// Stage passes good rows on as fund.RTALines and sends bad ones to
// quarantine with the parser's reason.
func Stage(_ context.Context, it Item) (fund.RTALine, error) {
	if it.Row.Reason != "" {
		return fund.RTALine{}, &pipelines.RejectError{Reason: it.Row.Reason, Detail: it.Row.Detail}
	}
	return fund.RTALine{Layout: it.Layout.Name, IsTxn: it.Layout.Kind == Transactions, Holding: it.Row.Holding, Txn: it.Row.Txn, From: it.From}, nil
}
