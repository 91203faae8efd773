// Package kragen writes KRA status files (transforms/kra's layout) for a
// list of investors, with holds, rejections, inoperative PANs, bad rows and
// unknown PANs injected, and a truth file saying what the KYC gate must
// decide for each investor. The truth is written from what was injected
// and the SEBI rules as the issue states them (on hold, under process and
// rejected may not buy but may redeem; an inoperative PAN is on hold), not
// from fund/kyc's table: a test compares the two.
package kragen

import (
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/fundflow/fundflow/fund"
)

// Investor is one onboarded investor and the PAN on their record.
type Investor struct{ ID, PAN string }

// Options say what to inject, as fractions of the investors.
type Options struct {
	Seed        uint64
	Hold        float64 // on hold (03, 13) or under process (01, 11)
	Reject      float64 // rejected (04)
	Inoperative float64 // PAN not linked to Aadhaar (the PAN-Aadhaar file)
	Bad         float64 // an extra bad row for the investor after the good one (quarantined; the good one stays)
	Unknown     int     // rows for PANs no investor has
	At          time.Time
}

// Truth is the gate's expected decision for one investor.
type Truth struct {
	InvestorID, PAN, Code string
	Inoperative           bool
	Reason                string // "" : no restriction
	BlocksPurchase        bool
	BlocksRedemption      bool
	BlocksNewFolio        bool // opening a folio: every restriction, and a registered (not validated) KYC alone
}

// Summary counts what was written.
type Summary struct {
	Rows, Held, Rejected, Inoperative, Bad, Unknown int
}

// Header of the status file.
const Header = "APP_PAN_NO|APP_NAME|APP_STATUS|APP_STATUSDT|APP_HOLD_DEACTIVE_RMKS"

// PAN is a synthetic individual's PAN for index i: five letters (the 4th P,
// a person), four digits, one letter; distinct for i below 26^4 × 10^4.
func PAN(i int) string {
	l := func(n int) byte { return byte('A' + n%26) }
	d := i % 10000
	r := i / 10000
	return fmt.Sprintf("%c%c%cP%c%04d%c", l(r/17576), l(r/676), l(r/26), l(r), d, l(i))
}

// Write writes the status file to status, the PAN-Aadhaar file to aadhaar
// (only the inoperative PANs and a few linked ones) and the truth CSV.
func Write(status, aadhaar, truth io.Writer, invs []Investor, o Options) (Summary, error) {
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	at := o.At.In(fund.IST()).Format("02-01-2006 15:04:05")
	var s Summary
	tw := csv.NewWriter(truth)
	if err := tw.Write([]string{"investor_id", "pan", "code", "inoperative", "reason", "blocks_purchase", "blocks_redemption", "blocks_new_folio"}); err != nil {
		return s, err
	}
	if _, err := fmt.Fprintln(status, Header); err != nil {
		return s, err
	}
	if _, err := fmt.Fprintln(aadhaar, "APP_PAN_NO|PAN_AADHAAR_LINK|APP_STATUSDT"); err != nil {
		return s, err
	}
	for _, inv := range invs {
		t := Truth{InvestorID: inv.ID, PAN: inv.PAN, Code: "07"}
		x := rng.Float64()
		switch {
		case x < o.Hold:
			t.Code = []string{"03", "13", "01", "11"}[rng.IntN(4)]
			t.Reason, t.BlocksPurchase, t.BlocksNewFolio = "kyc_on_hold", true, true
			s.Held++
		case x < o.Hold+o.Reject:
			t.Code = "04"
			t.Reason, t.BlocksPurchase, t.BlocksNewFolio = "kyc_rejected", true, true
			s.Rejected++
		default:
			t.Code = []string{"07", "02", "22"}[rng.IntN(3)] // validated or registered: may buy and redeem
			if t.Code != "07" {
				// Registered, not validated: since SEBI's KRA validation
				// (1 April 2024) it opens no new folio.
				t.Reason, t.BlocksNewFolio = "kyc_on_hold", true
			}
		}
		if rng.Float64() < o.Inoperative {
			t.Inoperative = true
			t.Reason, t.BlocksPurchase, t.BlocksNewFolio = "pan_inoperative", true, true
			s.Inoperative++
			if _, err := fmt.Fprintf(aadhaar, "%s|N|%s\n", inv.PAN, at); err != nil {
				return s, err
			}
		}
		remarks := ""
		if t.Code == "03" || t.Code == "13" || t.Code == "04" {
			remarks = "address proof mismatch"
		}
		if _, err := fmt.Fprintf(status, "%s|INVESTOR %s|%s|%s|%s\n", inv.PAN, inv.ID, t.Code, at, remarks); err != nil {
			return s, err
		}
		s.Rows++
		if rng.Float64() < o.Bad {
			// A bad row after the good one: an unknown code, or a KRA that did not answer.
			if _, err := fmt.Fprintf(status, "%s|INVESTOR %s|%s|%s|\n", inv.PAN, inv.ID, []string{"42", "99", "X"}[rng.IntN(3)], at); err != nil {
				return s, err
			}
			s.Bad++
		}
		if err := tw.Write([]string{t.InvestorID, t.PAN, t.Code, strconv.FormatBool(t.Inoperative), t.Reason,
			strconv.FormatBool(t.BlocksPurchase), strconv.FormatBool(t.BlocksRedemption), strconv.FormatBool(t.BlocksNewFolio)}); err != nil {
			return s, err
		}
	}
	for i := 0; i < o.Unknown; i++ {
		if _, err := fmt.Fprintf(status, "%s|UNKNOWN|02|%s|\n", PAN(90_000_000+i), at); err != nil {
			return s, err
		}
		s.Unknown++
	}
	tw.Flush()
	return s, tw.Error()
}

// ReadTruth reads a truth CSV.
func ReadTruth(r io.Reader) ([]Truth, error) {
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, err
	}
	var out []Truth
	for _, row := range rows[1:] {
		if len(row) != 8 {
			return nil, fmt.Errorf("truth row %v: want 8 fields", row)
		}
		t := Truth{InvestorID: row[0], PAN: row[1], Code: row[2], Reason: row[4]}
		t.Inoperative, _ = strconv.ParseBool(row[3])
		t.BlocksPurchase, _ = strconv.ParseBool(row[5])
		t.BlocksRedemption, _ = strconv.ParseBool(row[6])
		t.BlocksNewFolio, _ = strconv.ParseBool(row[7])
		out = append(out, t)
	}
	return out, nil
}
