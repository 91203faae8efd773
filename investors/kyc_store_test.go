package investors_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/kyc"
	"github.com/fundflow/fundflow/internal/pii"
	"github.com/fundflow/fundflow/investors"
	"github.com/fundflow/fundflow/investors/pgstore"
	"github.com/fundflow/fundflow/ledger"
)

// What the lookup reads of a batch's PANs (session 35 rewrote it: only the
// columns the gate uses, kyc_status and the restrictions read in investor
// order): a PAN that is an investor's own and the guardian's of
// two minors without one matches all three, in id order; a minor flagged
// as of age is said so; a state carries what Merge compares and the lines
// that order it, and the restriction what sameRestriction compares; an
// unknown PAN matches nothing. Expected values are the feed's and the
// permission table's, written out by hand.
func TestLookupKYCReadsWhatTheGateNeeds(t *testing.T) {
	e := newGateEnv(t)
	e.onboard("INV-G", "ABCPE1234F")
	e.onboard("INV-Z", "ZZZPZ9999Z")
	for _, id := range []string{"INV-M2", "INV-M1"} {
		minor := strings.NewReplacer(`"INV-1"`, `"`+id+`"`, `"pan":"abcpe1234f",`, ``, `"dob":"1990-04-01"`, `"dob":"2012-08-21"`,
			`"tax_status":"resident_individual"`, `"tax_status":"minor","guardian":{"name":"Asha Rao","pan":"ABCPE1234F","relationship":"mother"}`).Replace(asha)
		minor = strings.Replace(minor, `"nominees":[{"name":"Ravi Rao","relationship":"spouse","share":"60"},{"name":"Mira Rao","relationship":"daughter","share":40,"dob":"2015-06-01","guardian_name":"Ravi Rao"}],`, ``, 1)
		if _, _, err := e.inv.Create(e.ctx, []byte(minor), "onboarding", investors.ChannelAPI); err != nil {
			t.Fatal(err)
		}
	}
	e.db.Exec(`UPDATE investor_profiles SET majority_flagged_at = '2026-08-20T00:00:00Z' WHERE investor_id = 'INV-M2'`)
	// Line 2: ZZZ on hold with a remark (code 03).
	e.feed("kra-2026-08-19.txt", "APP_NAME|APP_PAN_NO|APP_KRA|APP_STATUS|APP_STATUSDT|APP_HOLD_DEACTIVE_RMKS\n"+
		"Z|ZZZPZ9999Z|CVLKRA|03|19-08-2026 18:00:00|address mismatch\n")

	sealer, _ := pii.New(bytes.Repeat([]byte{3}, 32)) // newGateEnv's key
	fpG, fpZ, fpX := sealer.Fingerprint("pan", "ABCPE1234F"), sealer.Fingerprint("pan", "ZZZPZ9999Z"), sealer.Fingerprint("pan", "QQQPQ1111Q")
	look, err := e.gate.Store.LookupKYC(e.ctx, []string{fpZ, fpX, fpG})
	if err != nil {
		t.Fatal(err)
	}
	if got := look.Match[fpG]; !slices.Equal(got, []string{"INV-G", "INV-M1", "INV-M2"}) {
		t.Errorf("guardian's PAN matches %v", got)
	}
	if got := look.Match[fpZ]; !slices.Equal(got, []string{"INV-Z"}) {
		t.Errorf("ZZZ matches %v", got)
	}
	if got, ok := look.Match[fpX]; ok {
		t.Errorf("unknown PAN matches %v", got)
	}
	if len(look.Match) != 2 {
		t.Errorf("matches %v", look.Match)
	}
	if !look.OfAge["INV-M2"] || len(look.OfAge) != 1 {
		t.Errorf("of age: %v", look.OfAge)
	}
	if len(look.States) != 1 {
		t.Errorf("states of %d investors, want INV-Z's only", len(look.States))
	}
	ist := time.FixedZone("IST", 5*3600+1800)
	want := investors.KYCState{Status: kyc.OnHold, KRA: "CVLKRA", Code: "03", At: time.Date(2026, 8, 19, 18, 0, 0, 0, ist).UTC(),
		Remarks: "address mismatch", StatusFrom: investors.FeedLine{File: "kra-2026-08-19.txt", Line: 2}}
	got := look.States["INV-Z"]
	got.From, got.PANFP = fund.Origin{}, "" // not the lookup's to read: any change replaces them
	if got != want {
		t.Errorf("INV-Z's state\n got %+v\nwant %+v", got, want)
	}
	wantR := ledger.Restriction{InvestorID: "INV-Z", Source: ledger.HoldKYC, Reason: "kyc_on_hold",
		Detail: "kyc status on_hold (table from 2000-01-01)", BlocksPurchase: true, BlocksNewFolio: true}
	gotR := look.Restrictions["INV-Z"]
	gotR.Since, gotR.By = time.Time{}, "" // nor these: sameRestriction does not compare them
	if gotR != wantR || len(look.Restrictions) != 1 {
		t.Errorf("restrictions %+v\nwant INV-Z's %+v", look.Restrictions, wantR)
	}
}

// A history row names an investor that exists (its foreign key: session
// 35 measured a statement-level check in its place, which cost as much,
// and kept the key): an INSERT with one unknown investor among known ones
// is refused whole, as a foreign key violation (23503), and one of known
// investors is stored.
func TestKYCHistoryNamesAnInvestor(t *testing.T) {
	e := newGateEnv(t)
	e.onboard("INV-1", "ABCPE1234F")
	e.onboard("INV-2", "ZZZPZ9999Z")
	app := e.gate.Store.(pgstore.Store).Pool
	insert := `INSERT INTO kyc_status_history (investor_id, pan_fp, status, kra, kra_code, remarks, pan_inoperative, effective_status,
		source_file, source_sha256, source_line, recorded_at, recorded_by)
		SELECT id, 'fp', 'validated', 'CVLKRA', '07', '', false, 'validated', 'f.txt', 'sha', 1, now(), 'test' FROM unnest($1::text[]) AS id`
	_, err := app.Exec(e.ctx, insert, []string{"INV-1", "NOBODY", "INV-2"})
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "23503" || !strings.Contains(pe.Message+pe.Detail, "NOBODY") {
		t.Fatalf("a history row of no investor: %v, want a foreign key violation naming NOBODY", err)
	}
	if n := e.db.Num(`SELECT count(*) FROM kyc_status_history`); n != 0 {
		t.Errorf("%d history rows stored by the refused INSERT", n)
	}
	if _, err := app.Exec(e.ctx, insert, []string{"INV-1", "INV-2"}); err != nil {
		t.Fatalf("history rows of known investors: %v", err)
	}
	if n := e.db.Num(`SELECT count(*) FROM kyc_status_history`); n != 2 {
		t.Errorf("%d history rows, want 2", n)
	}
}

// Three lines for one investor in one batch: two changes of the effective
// status (events: change_seq 2 and 3 after onboarding's 1), then a new
// remark only (a history row, no event). kyc_status keeps the last line's
// state and the last event's number, 3 (StoreKYC's window over the
// investor's writes, session 35: one sort, the frame still all of them).
func TestKYCStatusKeepsTheBatchsLastEventNumber(t *testing.T) {
	e := newGateEnv(t)
	e.onboard("INV-1", "ABCPE1234F")
	e.feed("kra-2026-08-19.txt", kraHead+
		"ASHA|ABCPE1234F|03|19-08-2026 10:00:00|address mismatch\n"+
		"ASHA|ABCPE1234F|07|19-08-2026 11:00:00|\n"+
		"ASHA|ABCPE1234F|07|19-08-2026 12:00:00|address checked\n")
	if got := e.db.Str(`SELECT status || ' ' || remarks || ' ' || change_seq || ' ' || status_source_line FROM kyc_status WHERE investor_id = 'INV-1'`); got != "validated address checked 3 4" {
		t.Errorf("kyc_status %q, want validated, the last remark, change_seq 3, line 4", got)
	}
	if got := e.db.Str(`SELECT string_agg(coalesce(change_seq::text, '-'), ' ' ORDER BY id) FROM kyc_status_history WHERE investor_id = 'INV-1'`); got != "2 3 -" {
		t.Errorf("history change_seqs %q, want 2 3 -", got)
	}
}
