package commissions

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/commission"
)

// DistributorsFile is the distributor hierarchy as loaded by `fundflow
// commissions load-distributors`: JSON, unknown fields refused, dates
// YYYY-MM-DD, percentages as strings ("60", "33.3333"):
//
//	{"distributors": [{"id": "ARN-1", "kind": "arn", "name": "…", "valid_from": "2020-01-01",
//	                   "valid_to": "", "gst_registered": true, "intra_state": false}, …],
//	 "trees": [{"root": "ARN-1", "from": "2026-01-01",
//	            "shares": [{"parent": "ARN-1", "payee": "ARN-1", "pct": "60"}, …]}, …]}
//
// kind is arn, sub or euin; a parent's shares (its own included) sum to 100.
type DistributorsFile struct {
	Distributors []struct {
		ID            string `json:"id"`
		Kind          string `json:"kind"`
		Name          string `json:"name"`
		ValidFrom     string `json:"valid_from"`
		ValidTo       string `json:"valid_to"`
		GSTRegistered bool   `json:"gst_registered"`
		IntraState    bool   `json:"intra_state"`
	} `json:"distributors"`
	Trees []struct {
		Root   string `json:"root"`
		From   string `json:"from"`
		Shares []struct {
			Parent string `json:"parent"`
			Payee  string `json:"payee"`
			Pct    string `json:"pct"`
		} `json:"shares"`
	} `json:"trees"`
}

// MaxDistributorsFile bounds the file.
const MaxDistributorsFile = 64 << 20

// ParseDistributors reads and checks a distributors file. Any error refuses
// the whole file (a hierarchy is loaded whole or not at all); the error names
// the entry and field.
func ParseDistributors(r io.Reader) (parties []commission.Party, trees []commission.Tree, err error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxDistributorsFile+1))
	if err != nil {
		return nil, nil, err
	}
	if len(b) > MaxDistributorsFile {
		return nil, nil, fmt.Errorf("distributors file over %d bytes", MaxDistributorsFile)
	}
	var f DistributorsFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, nil, fmt.Errorf("distributors file: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, nil, errors.New("distributors file: data after the JSON object")
	}
	for i, d := range f.Distributors {
		at := fmt.Sprintf("distributors[%d] (%q)", i, d.ID)
		if e := fund.CheckText("id", d.ID); d.ID == "" || len(d.ID) > 64 || e != nil {
			return nil, nil, fmt.Errorf("%s: id: want 1 to 64 printable characters", at)
		}
		if e := fund.CheckText("name", d.Name); e != nil {
			return nil, nil, fmt.Errorf("%s: name: %s", at, e.Detail)
		}
		kind, err := commission.ParsePartyKind(d.Kind)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", at, err)
		}
		p := commission.Party{ID: d.ID, Kind: kind, Name: d.Name, GSTRegistered: d.GSTRegistered, IntraState: d.IntraState}
		if p.ValidFrom, err = fund.ParseISODate(d.ValidFrom); err != nil {
			return nil, nil, fmt.Errorf("%s: valid_from: %w", at, err)
		}
		if d.ValidTo != "" {
			if p.ValidTo, err = fund.ParseISODate(d.ValidTo); err != nil {
				return nil, nil, fmt.Errorf("%s: valid_to: %w", at, err)
			}
		}
		parties = append(parties, p)
	}
	for i, t := range f.Trees {
		at := fmt.Sprintf("trees[%d] (%q)", i, t.Root)
		from, err := fund.ParseISODate(t.From)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: from: %w", at, err)
		}
		tr := commission.Tree{Root: t.Root, From: from}
		for j, s := range t.Shares {
			if !plainDecimal(s.Pct) || len(s.Pct) > 20 {
				return nil, nil, fmt.Errorf("%s: shares[%d].pct %q: want a plain decimal number", at, j, s.Pct)
			}
			tr.Shares = append(tr.Shares, commission.Share{Parent: s.Parent, Payee: s.Payee, Pct: decimal.RequireFromString(s.Pct)})
		}
		trees = append(trees, tr)
	}
	// The file's own hierarchy must stand (the store checks it again with
	// what is already loaded).
	if _, err := commission.NewHierarchy(parties, trees); err != nil {
		return nil, nil, err
	}
	return parties, trees, nil
}
