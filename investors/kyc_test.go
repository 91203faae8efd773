package investors_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/fundflow/fundflow/connectors/webhook"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/holidays"
	"github.com/fundflow/fundflow/internal/ledgergen"
	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/internal/pii"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/investors"
	"github.com/fundflow/fundflow/investors/pgstore"
	"github.com/fundflow/fundflow/ledger"
	ledgerpg "github.com/fundflow/fundflow/ledger/pgstore"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/transforms/kra"
)

type gateEnv struct {
	t    *testing.T
	ctx  context.Context
	db   moneytest.DB
	now  time.Time
	led  *ledger.Service
	inv  *investors.Service
	gate *investors.Gate
}

// Thursday 20 August 2026, 10:00 IST: before the 15:00 cut-off.
func newGateEnv(t *testing.T) *gateEnv {
	t.Helper()
	owner, _, app, _ := testkit.PGApp(t)
	cal, err := holidays.Calendar(testkit.Fixture(t, "calendar/nse_fo_holidays_2026.csv"))
	if err != nil {
		t.Fatal(err)
	}
	sealer, _ := pii.New(bytes.Repeat([]byte{3}, 32))
	e := &gateEnv{t: t, ctx: testkit.Ctx(t), now: moneytest.IST("2026-08-20T10:00:00+05:30")}
	e.db = moneytest.DB{T: t, Ctx: e.ctx, Owner: owner, Read: app}
	clock := func() time.Time { return e.now }
	e.led = &ledger.Service{Store: ledgerpg.New(app), Calendar: cal, Audit: true, Now: clock}
	store := pgstore.Store{Pool: app}
	e.inv = &investors.Service{Store: store, PII: sealer, Now: clock, Log: testkit.Logger(t)}
	e.gate = &investors.Gate{Store: store, Ledger: e.led, PII: sealer, Now: clock, Log: testkit.Logger(t)}
	t.Cleanup(func() {
		if err := ledgergen.CheckService(context.WithoutCancel(e.ctx), app); err != nil {
			t.Error(err)
		}
	})
	e.db.Scheme("E1", "Equity")
	e.db.NAV("E1", "2026-08-20", "20.0000")
	return e
}

// onboard creates investor id with pan (asha's record otherwise).
func (e *gateEnv) onboard(id, pan string) {
	e.t.Helper()
	body := strings.NewReplacer(`"INV-1"`, `"`+id+`"`, "abcpe1234f", pan).Replace(asha)
	if _, _, err := e.inv.Create(e.ctx, []byte(body), "onboarding", investors.ChannelAPI); err != nil {
		e.t.Fatal(err)
	}
}

// buy places and pays a purchase of 1000 on folio F-<investor>.
func (e *gateEnv) buy(id, investor string) {
	e.t.Helper()
	a := fund.MustAmount("1000")
	req := fund.OrderRequest{ID: id, Kind: fund.ReqPurchase, InvestorID: investor, Folio: "F-" + investor, SchemeCode: "E1", Amount: &a,
		Currency: "INR", PaymentRef: "order_" + id, PlacedAt: e.now.Add(-time.Minute)}
	if p, err := e.led.Place(e.ctx, fund.OrderIntake{Req: req, Source: "test", ReceivedAt: req.PlacedAt, At: req.PlacedAt}); err != nil || p.Outcome != ledger.OutcomeAccepted {
		e.t.Fatalf("purchase %s: %+v %v", id, p, err)
	}
	body := moneytest.Payment{ID: "pay_" + id, OrderID: id, Status: "captured", Paise: 100000, At: e.now}.Body()
	typ, p, err := webhook.ParseRazorpay(body, "evt_"+id)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.led.Receive(e.ctx, ledger.InboxEvent{Source: "razorpay", EventID: "evt_" + id, EventType: typ, Body: body, Payment: p}); err != nil {
		e.t.Fatal(err)
	}
}

// feed parses a KRA file and applies it as one batch; it returns the
// quarantined rows' reasons by line.
func (e *gateEnv) feed(name, text string) map[int]string {
	e.t.Helper()
	next, err := kra.Decode(strings.NewReader(text), fund.Origin{File: name, SHA256: name})
	if err != nil {
		e.t.Fatal(err)
	}
	var recs []kra.Record
	bad := map[int]string{}
	for {
		it, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			e.t.Fatal(err)
		}
		r, err := kra.Stage(e.ctx, it)
		var re *pipelines.RejectError
		if errors.As(err, &re) {
			bad[it.From.Line] = re.Reason
			continue
		}
		recs = append(recs, r)
	}
	if err := e.gate.Write(e.ctx, pipelines.Batch[kra.Record]{Items: recs}); err != nil {
		e.t.Fatal(err)
	}
	return bad
}

func (e *gateEnv) status(order string) string {
	return e.db.Str(`SELECT o.status || coalesce(' held ' || h.reason, '') FROM orders o
		LEFT JOIN order_holds h ON h.order_id = o.id AND h.closed_at IS NULL WHERE o.id = $1`, order)
}

func (e *gateEnv) kycEvents(id string) []string {
	rows, err := e.db.Owner.Query(e.ctx, `SELECT payload FROM outbox WHERE topic = 'investors.changed' AND key = $1 ORDER BY id`, id)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p []byte
		_ = rows.Scan(&p)
		var ev investors.Event
		_ = json.Unmarshal(p, &ev)
		if ev.Channel == investors.ChannelKRAFeed {
			out = append(out, ev.KYCStatus)
		}
	}
	return out
}

const kraHead = "APP_NAME|APP_PAN_NO|APP_STATUS|APP_STATUSDT|APP_HOLD_DEACTIVE_RMKS\n"

// The gate end to end: a KRA status puts an investor's paid purchase on
// hold with the public reason, a later validated status releases it (and
// the order is allotted at the NAV of the release day), an older status is
// not applied, an inoperative PAN holds whatever the KRA says, an unknown
// PAN is kept, bad rows are refused, and the switch holds investors with no
// KYC record. Once with the gate's default (one shard for a small batch),
// once with two (the batch's lookup and writes split in two), and once
// with two and a part per PAN (each PAN's lookup overlapping the last
// one's writes): the same outcome.
func TestKYCGate(t *testing.T) {
	for _, c := range []struct{ shards, part int }{{0, 0}, {2, 0}, {2, 1}} {
		t.Run(fmt.Sprintf("shards=%d-part=%d", c.shards, c.part), func(t *testing.T) { kycGate(t, c.shards, c.part) })
	}
}

// kycGate runs TestKYCGate with the gate's shards and part size (1: each
// PAN of a batch its own part, the next one's lookup overlapping).
func kycGate(t *testing.T, shards, part int) {
	e := newGateEnv(t)
	e.gate.Parallel, e.gate.PartSize = shards, part
	e.onboard("INV-1", "ABCPE1234F")
	e.onboard("INV-2", "ZZZPZ9999Z")
	e.onboard("INV-3", "MMMPM5555M")

	bad := e.feed("kra-1.txt", kraHead+
		"ASHA|ABCPE1234F|03|19-08-2026 18:00:00|address mismatch\n"+
		"Z|ZZZPZ9999Z|07|19-08-2026 18:00:00|\n"+
		"NOBODY|QQQPQ1111Q|02|19-08-2026 18:00:00|\n"+
		"BAD|ABCPE1234F|42|19-08-2026 18:00:00|\n"+
		"GONE|ZZZPZ9999Z|99|19-08-2026 18:00:00|\n")
	if want := map[int]string{5: kra.ReasonBadStatus, 6: kra.ReasonUnreachable}; len(bad) != 2 || bad[5] != want[5] || bad[6] != want[6] {
		t.Fatalf("refused rows %v, want %v", bad, want)
	}
	e.buy("P1", "INV-1")
	e.buy("P2", "INV-2")
	if got := e.status("P1"); got != "pending_nav held kyc_on_hold" {
		t.Errorf("on-hold investor's paid purchase: %s", got)
	}
	if got := e.status("P2"); got != "allotted" {
		t.Errorf("validated investor's purchase: %s", got)
	}
	if n := e.db.Num(`SELECT count(*) FROM kyc_unmatched WHERE status = 'registered'`); n != 1 {
		t.Errorf("unmatched rows %d, want 1", n)
	}
	// The bad 99 row of INV-2 did not touch its status: the last good stays.
	if got := e.db.Str(`SELECT status FROM kyc_status WHERE investor_id = 'INV-2'`); got != "validated" {
		t.Errorf("INV-2 %s", got)
	}

	// A later file validates INV-1: the hold is released at 11:00 IST and
	// the order re-decided on the release time (before the 15:00 cut-off:
	// today's NAV).
	e.now = moneytest.IST("2026-08-20T11:00:00+05:30")
	kra2 := kraHead + "ASHA|ABCPE1234F|07|20-08-2026 09:00:00|\n"
	e.feed("kra-2.txt", kra2)
	// The release allots at once: the NAV of the release day is there.
	if got := e.status("P1") + " " + e.db.Str(`SELECT nav_date::text FROM orders WHERE id = 'P1'`); got != "allotted 2026-08-20" {
		t.Errorf("released: %s, want allotted 2026-08-20", got)
	}
	// The same file again: nothing changes, no event twice.
	e.feed("kra-2.txt", kra2)
	// An older on-hold status arriving late is not applied.
	e.feed("kra-late.txt", kraHead+"ASHA|ABCPE1234F|03|18-08-2026 09:00:00|\n")
	if got := e.db.Str(`SELECT status FROM kyc_status WHERE investor_id = 'INV-1'`); got != "validated" {
		t.Errorf("after a late older row: %s", got)
	}
	if got := e.db.Num(`SELECT count(*) FROM investor_restrictions WHERE investor_id = 'INV-1'`); got != 0 {
		t.Errorf("INV-1 restricted after validation")
	}

	// INV-2's PAN turns inoperative: on hold (pan_inoperative) though the KRA says validated.
	e.feed("aadhaar.txt", "APP_PAN_NO|PAN_AADHAAR_LINK|APP_STATUSDT\nZZZPZ9999Z|N|20-08-2026\n")
	e.buy("P3", "INV-2")
	if got := e.status("P3"); got != "pending_nav held pan_inoperative" {
		t.Errorf("inoperative PAN's purchase: %s", got)
	}
	legs := e.db.Str(`SELECT string_agg(reason, ',') FROM order_holds WHERE source = 'kyc' AND closed_at IS NULL`)
	if legs != "pan_inoperative" {
		t.Errorf("open kyc holds: %s", legs)
	}

	// investors.changed from the feed: the effective status of each change.
	if got := strings.Join(e.kycEvents("INV-1"), ","); got != "on_hold,validated" {
		t.Errorf("INV-1 kyc events %s", got)
	}
	if got := strings.Join(e.kycEvents("INV-2"), ","); got != "validated,on_hold" {
		t.Errorf("INV-2 kyc events %s", got)
	}

	// INV-3 has no KYC record: with the switch off nothing; on, kyc_missing.
	if n, err := e.gate.Sweep(e.ctx); err != nil || n != 0 {
		t.Fatalf("sweep off: %d %v", n, err)
	}
	e.gate.RequireRecord = true
	if n, err := e.gate.Sweep(e.ctx); err != nil || n != 1 {
		t.Fatalf("sweep on: %d %v", n, err)
	}
	e.buy("P4", "INV-3")
	if got := e.status("P4"); got != "pending_nav held kyc_missing" {
		t.Errorf("no-KYC investor's purchase: %s", got)
	}
	if n, err := e.gate.Sweep(e.ctx); err != nil || n != 0 {
		t.Fatalf("sweep again: %d %v", n, err)
	}
}

// A minor turning 18: flagged on the birthday (IST), not the day before;
// transactions stop (minor_attained_majority, purchases and redemptions)
// whatever the guardian's KYC says; an event goes out; once the record is
// the investor's own and the KRA names their own PAN validated, the
// restriction is lifted.
func TestMinorAttainsMajority(t *testing.T) {
	for _, shards := range []int{0, 2} {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) { minorAttainsMajority(t, shards) })
	}
}

func minorAttainsMajority(t *testing.T, shards int) {
	e := newGateEnv(t)
	e.gate.Parallel = shards
	e.onboard("INV-G", "ABCPE1234F") // the guardian, an investor too
	minor := strings.NewReplacer(`"INV-1"`, `"INV-M"`, `"pan":"abcpe1234f",`, ``, `"dob":"1990-04-01"`, `"dob":"2008-08-21"`,
		`"tax_status":"resident_individual"`, `"tax_status":"minor","guardian":{"name":"Asha Rao","pan":"ABCPE1234F","relationship":"mother"}`).Replace(asha)
	minor = strings.Replace(minor, `"nominees":[{"name":"Ravi Rao","relationship":"spouse","share":"60"},{"name":"Mira Rao","relationship":"daughter","share":40,"dob":"2015-06-01","guardian_name":"Ravi Rao"}],`, ``, 1)
	if _, _, err := e.inv.Create(e.ctx, []byte(minor), "onboarding", investors.ChannelAPI); err != nil {
		t.Fatal(err)
	}
	e.feed("kra-g.txt", kraHead+"ASHA|ABCPE1234F|07|19-08-2026 18:00:00|\n") // the guardian's KYC: validated
	// 20 August 2026: the day before the 18th birthday.
	if n, err := e.gate.Majority(e.ctx); err != nil || n != 0 {
		t.Fatalf("the day before: %d %v", n, err)
	}
	e.now = moneytest.IST("2026-08-21T00:30:00+05:30") // the birthday, just after midnight IST (20 August 19:00 UTC)
	if n, err := e.gate.Majority(e.ctx); err != nil || n != 1 {
		t.Fatalf("on the birthday: %d %v", n, err)
	}
	if n, err := e.gate.Majority(e.ctx); err != nil || n != 0 {
		t.Fatalf("again: %d %v", n, err)
	}
	if got := e.db.Str(`SELECT reason || ' ' || blocks_purchase || ' ' || blocks_redemption FROM investor_restrictions WHERE investor_id = 'INV-M'`); got != "minor_attained_majority true true" {
		t.Errorf("restriction: %s", got)
	}
	// The guardian's KYC arriving again does not lift it.
	e.feed("kra-g2.txt", kraHead+"ASHA|ABCPE1234F|07|20-08-2026 18:00:00|\n")
	if got := e.db.Str(`SELECT reason FROM investor_restrictions WHERE investor_id = 'INV-M'`); got != "minor_attained_majority" {
		t.Errorf("after the guardian's feed: %s", got)
	}
	var fields string
	if err := e.db.Owner.QueryRow(e.ctx, `SELECT payload->>'fields' FROM outbox WHERE key = 'INV-M' ORDER BY id DESC LIMIT 1`).Scan(&fields); err != nil || fields != `["tax_status"]` {
		t.Errorf("last event fields %s %v", fields, err)
	}
	// The record becomes the investor's own: own PAN, resident individual,
	// no guardian, an opt-out; then the KRA validates the own PAN.
	if _, _, err := e.inv.Patch(e.ctx, "INV-M", []byte(`{"tax_status":"resident_individual","pan":"MNOPM7777M","guardian":null,"nomination_opt_out":true}`), "onboarding", investors.ChannelAPI); err != nil {
		t.Fatal(err)
	}
	e.feed("kra-m.txt", kraHead+"MIRA|MNOPM7777M|07|21-08-2026 09:00:00|\n")
	if n := e.db.Num(`SELECT count(*) FROM investor_restrictions WHERE investor_id = 'INV-M'`); n != 0 {
		t.Errorf("restriction left after the own KYC: %s", e.db.Str(`SELECT reason FROM investor_restrictions WHERE investor_id = 'INV-M'`))
	}
}

// The KYC status history is the audit trail of the KYC columns: a status
// change leaves exactly one kyc_status_history row (with its feed line), one
// version and one event, and no per-investor audit_log row; the batch has
// one audit row whose digest is that of its history rows. A non-KYC change
// (an API patch) is still audited per change as before. The same file
// again adds nothing, and the history refuses UPDATE and DELETE.
func TestKYCHistoryIsTheAuditTrail(t *testing.T) {
	e := newGateEnv(t)
	e.onboard("INV-1", "ABCPE1234F")
	e.onboard("INV-2", "ZZZPZ9999Z")
	investorAudits := `SELECT count(*) FROM audit_log WHERE entity = 'investor' AND entity_id = $1`
	if n := e.db.Num(investorAudits, "INV-1"); n != 1 {
		t.Fatalf("onboarding left %d investor audit rows, want 1", n)
	}

	file := kraHead + "ASHA|ABCPE1234F|03|19-08-2026 18:00:00|address mismatch\n" + "Z|ZZZPZ9999Z|07|19-08-2026 18:00:00|\n"
	e.feed("kra-1.txt", file)
	// One history row each, from lines 2 and 3 of kra-1.txt; change_seq 2
	// (onboarding was 1), the version and the event of the change.
	if got, want := e.db.Str(`SELECT string_agg(investor_id || ' ' || status || ' ' || effective_status || ' ' || change_seq || ' ' ||
		source_file || ':' || source_line || ' ' || recorded_by, ', ' ORDER BY id) FROM kyc_status_history`),
		"INV-1 on_hold on_hold 2 kra-1.txt:2 kra-feed, INV-2 validated validated 2 kra-1.txt:3 kra-feed"; got != want {
		t.Errorf("history %q, want %q", got, want)
	}
	// The record did not change: no version copies it (the history row
	// is the change 2).
	if got := e.db.Str(`SELECT string_agg(change_seq::text || ' ' || channel, ', ' ORDER BY change_seq) FROM investor_versions
		WHERE investor_id = 'INV-1'`); got != "1 api" {
		t.Errorf("INV-1 versions %q, want only the onboarding's (1 api)", got)
	}
	if got := e.db.Str(`SELECT payload->>'event_id' FROM outbox WHERE key = 'INV-1' ORDER BY id DESC LIMIT 1`); got != "investors.changed:INV-1:2" {
		t.Errorf("event id %q", got)
	}
	// No second copy in audit_log: INV-1 still has only its onboarding row.
	if n := e.db.Num(investorAudits, "INV-1"); n != 1 {
		t.Errorf("a KYC change left %d investor audit rows, want 1 (onboarding only)", n)
	}
	// The batch's one audit row vouches for the history rows by digest.
	hist1, err := pgstore.Store{Pool: e.db.Owner}.KYCHistory(e.ctx, "INV-1")
	if err != nil {
		t.Fatal(err)
	}
	hist2, err := pgstore.Store{Pool: e.db.Owner}.KYCHistory(e.ctx, "INV-2")
	if err != nil {
		t.Fatal(err)
	}
	if len(hist1) != 1 || len(hist2) != 1 {
		t.Fatalf("history rows %d and %d, want 1 and 1", len(hist1), len(hist2))
	}
	if got, want := e.db.Str(`SELECT payload->>'sha256' FROM audit_log WHERE action = 'kyc_status_batch'`),
		pgstore.HistoryDigest(append(hist1, hist2...)); got != want {
		t.Errorf("batch audit digest %s, want %s", got, want)
	}
	if n := e.db.Num(`SELECT count(*) FROM audit_log WHERE action = 'kyc_status_batch' AND (payload->>'rows')::int = 2 AND (payload->>'events')::int = 2`); n != 1 {
		t.Errorf("%d batch audit rows of 2 rows and 2 events, want 1", n)
	}

	// The same file again: nothing new anywhere.
	counts := `SELECT (SELECT count(*) FROM kyc_status_history) || ' ' || (SELECT count(*) FROM outbox) || ' ' ||
		(SELECT count(*) FROM investor_versions) || ' ' || (SELECT count(*) FROM audit_log WHERE entity <> 'investor_restriction')`
	before := e.db.Str(counts)
	e.feed("kra-1.txt", file)
	if after := e.db.Str(counts); after != before {
		t.Errorf("the same file again: history, outbox, versions, audit %s, were %s", after, before)
	}

	// A non-KYC change is audited as before: one row naming the change.
	if _, _, err := e.inv.Patch(e.ctx, "INV-1", []byte(`{"email":"asha.new@example.com"}`), "support", investors.ChannelAPI); err != nil {
		t.Fatal(err)
	}
	if got := e.db.Str(`SELECT action || ' ' || (payload->>'change_seq') || ' ' || (payload->'fields')::text FROM audit_log
		WHERE entity = 'investor' AND entity_id = 'INV-1' ORDER BY seq DESC LIMIT 1`); got != `changed 3 ["email"]` {
		t.Errorf("the patch's audit row %q, want changed 3 [\"email\"]", got)
	}
	if n := e.db.Num(investorAudits, "INV-1"); n != 2 {
		t.Errorf("investor audit rows %d, want 2 (onboarding, patch)", n)
	}
	// The patch's version and event are change 3, after the KYC change's 2
	// (the numbers of one investor's versions and events never repeat).
	if got := e.db.Str(`SELECT string_agg(change_seq::text, ' ' ORDER BY change_seq) FROM investor_versions WHERE investor_id = 'INV-1'`); got != "1 3" {
		t.Errorf("INV-1 versions %q, want 1 3", got)
	}
	if got := e.db.Str(`SELECT string_agg(payload->>'change_seq', ' ' ORDER BY id) FROM outbox WHERE key = 'INV-1' AND topic = 'investors.changed'`); got != "1 2 3" {
		t.Errorf("INV-1 events %q, want 1 2 3", got)
	}
	if r, err := e.inv.Get(e.ctx, "INV-1"); err != nil || r.Seq != 3 || r.Investor.Email != "asha.new@example.com" {
		t.Errorf("Get: seq %d email %q %v, want 3 and the patched email", r.Seq, r.Investor.Email, err)
	}
	// A KYC change after the patch is 4: its base is the profile, not the
	// latest version.
	e.feed("kra-2.txt", kraHead+"ASHA|ABCPE1234F|07|20-08-2026 09:00:00|\n")
	if got := e.db.Str(`SELECT string_agg(coalesce(change_seq::text, '-'), ' ' ORDER BY id) FROM kyc_status_history WHERE investor_id = 'INV-1'`); got != "2 4" {
		t.Errorf("INV-1 history change_seqs %q, want 2 4", got)
	}
	if got := e.db.Str(`SELECT p.change_seq || ' ' || k.change_seq FROM investor_profiles p JOIN kyc_status k USING (investor_id)
		WHERE investor_id = 'INV-1'`); got != "3 4" {
		t.Errorf("INV-1 change_seq of the profile and of kyc_status %q, want 3 4 (the record's, the KYC change's)", got)
	}
	// And a patch after it is 5.
	if _, _, err := e.inv.Patch(e.ctx, "INV-1", []byte(`{"email":"asha.third@example.com"}`), "support", investors.ChannelAPI); err != nil {
		t.Fatal(err)
	}
	if got := e.db.Str(`SELECT string_agg(payload->>'change_seq', ' ' ORDER BY id) FROM outbox WHERE key = 'INV-1' AND topic = 'investors.changed'`); got != "1 2 3 4 5" {
		t.Errorf("INV-1 events %q, want 1 2 3 4 5", got)
	}
	if n := e.db.Num(`SELECT count(*) FROM kyc_status_history WHERE investor_id = 'INV-1'`); n != 2 {
		t.Errorf("%d history rows, want 2 (kra-1, kra-2): a non-KYC change writes none", n)
	}

	// Append-only, for the owner too.
	for _, q := range []string{`UPDATE kyc_status_history SET status = 'validated'`, `DELETE FROM kyc_status_history`, `TRUNCATE kyc_status_history`} {
		if _, err := e.db.Owner.Exec(e.ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want refused as append-only", q, err)
		}
	}
}

// A status identical to the one on file changes nothing: a duplicate line
// in the batch, the same status again in a later file; a change of the
// remarks alone at the same status time is a change (a history row, no
// event: the effective status is the same). Within one batch an
// investor's rows apply in line order and kyc_status keeps the last, with
// the number of the last event. With a part per PAN (the lookups
// overlapping the writes) and two shards. Expectations counted from the
// files by hand.
func TestKYCIdenticalStatusChangesNothing(t *testing.T) {
	e := newGateEnv(t)
	e.gate.Parallel, e.gate.PartSize = 2, 1
	e.onboard("INV-1", "ABCPE1234F")
	e.onboard("INV-2", "ZZZPZ9999Z")
	e.feed("kra-1.txt", kraHead+
		"ASHA|ABCPE1234F|03|19-08-2026 18:00:00|address mismatch\n"+ // line 2: on hold, event 2
		"Z|ZZZPZ9999Z|07|19-08-2026 18:00:00|\n"+ // line 3: validated, event 2
		"ASHA|ABCPE1234F|03|19-08-2026 18:00:00|address mismatch\n"+ // line 4: the same as line 2: nothing
		"ASHA|ABCPE1234F|07|20-08-2026 09:00:00|\n") // line 5: validated, event 3
	hist := `SELECT coalesce(string_agg(investor_id || ' ' || status || ' ' || coalesce(change_seq::text, '-') || ' ' || source_file || ':' ||
		source_line || ' ' || remarks, ', ' ORDER BY id), '') FROM kyc_status_history`
	want := "INV-1 on_hold 2 kra-1.txt:2 address mismatch, INV-1 validated 3 kra-1.txt:5 , INV-2 validated 2 kra-1.txt:3 "
	if got := e.db.Str(hist); got != want {
		t.Errorf("history after kra-1\n got %q\nwant %q", got, want)
	}
	status := `SELECT string_agg(investor_id || ' ' || status || ' ' || change_seq || ' ' || source_line || ' ' || remarks, ', ' ORDER BY investor_id)
		FROM kyc_status`
	if got, want := e.db.Str(status), "INV-1 validated 3 5 , INV-2 validated 2 3 "; got != want {
		t.Errorf("kyc_status %q, want %q", got, want)
	}
	if got := strings.Join(e.kycEvents("INV-1"), ","); got != "on_hold,validated" {
		t.Errorf("INV-1 events %s, want on_hold,validated", got)
	}

	// kra-2: INV-1's status again, identical (another file, another line):
	// nothing. INV-2's remarks changed at the same status time: one history
	// row without an event, kyc_status takes the remarks.
	counts := `SELECT (SELECT count(*) FROM kyc_status_history) || ' ' || (SELECT count(*) FROM outbox) || ' ' ||
		(SELECT count(*) FROM audit_log WHERE action = 'kyc_status_batch')`
	if got := e.db.Str(counts); got != "3 5 2" { // 2 onboarding + 3 KYC events; one batch audit row per shard
		t.Fatalf("history, outbox, batch audits after kra-1: %s, want 3 5 2", got)
	}
	e.feed("kra-2.txt", kraHead+
		"Z|ZZZPZ9999Z|07|19-08-2026 18:00:00|re-verified\n"+
		"ASHA|ABCPE1234F|07|20-08-2026 09:00:00|\n")
	if got := e.db.Str(counts); got != "4 5 3" {
		t.Errorf("history, outbox, batch audits after kra-2: %s, want 4 5 3 (INV-2's remarks only)", got)
	}
	if got, want := e.db.Str(`SELECT investor_id || ' ' || coalesce(change_seq::text, '-') || ' ' || source_file || ':' || source_line || ' ' || remarks
		FROM kyc_status_history ORDER BY id DESC LIMIT 1`), "INV-2 - kra-2.txt:2 re-verified"; got != want {
		t.Errorf("last history row %q, want %q", got, want)
	}
	if got, want := e.db.Str(status), "INV-1 validated 3 5 , INV-2 validated 2 2 re-verified"; got != want {
		t.Errorf("kyc_status after kra-2 %q, want %q", got, want)
	}
}

// Two statuses of the same time stamp are ordered by the feed line they
// came from (the date in the file's name, the name, the line): an older
// file replayed after a newer one changes nothing (before, it wrote its
// remarks and status back, a history row each, an event and a hold for a
// status), and the newer file replayed changes nothing either. Each kind
// keeps its own line: a PAN–Aadhaar file dated later does not stop a
// newer status file of the same status time, and two PAN–Aadhaar files of
// the same date are ordered the same way.
func TestKYCSameTimeOrderedByFeedLine(t *testing.T) {
	e := newGateEnv(t)
	e.onboard("INV-1", "ABCPE1234F")
	e.onboard("INV-2", "ZZZPZ9999Z")
	e.onboard("INV-3", "MMMPM5555M")
	const at = "19-08-2026 18:00:00"
	s19 := kraHead +
		"ASHA|ABCPE1234F|03|" + at + "|address mismatch\n" + // line 2: on hold
		"Z|ZZZPZ9999Z|03|" + at + "|proof awaited\n" + // line 3: on hold
		"M|MMMPM5555M|03|" + at + "|first\n" + // line 4: on hold
		"M|MMMPM5555M|03|" + at + "|second\n" // line 5: the remarks only
	s20 := kraHead +
		"ASHA|ABCPE1234F|03|" + at + "|address mismatch: proof sent\n" + // line 2: the remarks only
		"Z|ZZZPZ9999Z|07|" + at + "|\n" // line 3: validated
	counts := `SELECT (SELECT count(*) FROM kyc_status_history) || ' ' ||
		(SELECT count(*) FROM outbox WHERE payload->>'channel' = 'kra_feed') || ' ' ||
		(SELECT coalesce(string_agg(investor_id || ':' || reason, ',' ORDER BY investor_id), '') FROM investor_restrictions WHERE source = 'kyc')`
	status := `SELECT string_agg(investor_id || ' ' || status || ' ' || remarks || ' ' || status_source_file || ':' || status_source_line ||
		' ' || pan_inoperative || ' ' || aadhaar_source_file || ':' || aadhaar_source_line, ', ' ORDER BY investor_id) FROM kyc_status`
	check := func(step, wantCounts, wantStatus string) {
		t.Helper()
		if got := e.db.Str(counts); got != wantCounts {
			t.Errorf("%s: history, KYC events, restrictions %q, want %q", step, got, wantCounts)
		}
		if got := e.db.Str(status); got != wantStatus {
			t.Errorf("%s: kyc_status\n got %q\nwant %q", step, got, wantStatus)
		}
	}
	// History rows: s19 4 (lines 2-5), s20 2; events: s19 3, s20 1 (INV-2 validated).
	e.feed("kra_status_20260819.txt", s19)
	e.feed("kra_status_20260820.txt", s20)
	after20 := "INV-1 on_hold address mismatch: proof sent kra_status_20260820.txt:2 false :0, " +
		"INV-2 validated  kra_status_20260820.txt:3 false :0, INV-3 on_hold second kra_status_20260819.txt:5 false :0"
	check("s19, s20", "6 4 INV-1:kyc_on_hold,INV-3:kyc_on_hold", after20)
	for range 2 {
		e.feed("kra_status_20260819.txt", s19)
		check("s19 replayed", "6 4 INV-1:kyc_on_hold,INV-3:kyc_on_hold", after20)
		e.feed("kra_status_20260820.txt", s20)
		check("s20 replayed", "6 4 INV-1:kyc_on_hold,INV-3:kyc_on_hold", after20)
	}

	// INV-2's PAN inoperative from a file dated the 25th (a row, an event,
	// a hold); then a status file dated the 21st at the same status time
	// as the one on file: newer than s20, so applied (a row; no event, the
	// effective status stays on hold).
	e.feed("pan_aadhaar_20260825.txt", "APP_PAN_NO|PAN_AADHAAR_LINK|APP_STATUSDT\nZZZPZ9999Z|N|25-08-2026\n")
	e.feed("kra_status_20260821.txt", kraHead+"Z|ZZZPZ9999Z|07|"+at+"|re-verified\n")
	inv2 := "INV-2 validated re-verified kra_status_20260821.txt:2 true pan_aadhaar_20260825.txt:2, "
	check("aadhaar 25th, s21", "8 5 INV-1:kyc_on_hold,INV-2:pan_inoperative,INV-3:kyc_on_hold",
		"INV-1 on_hold address mismatch: proof sent kra_status_20260820.txt:2 false :0, "+inv2+
			"INV-3 on_hold second kra_status_20260819.txt:5 false :0")
	// Linked, in a file dated the 26th with the same date: applied (a row,
	// an event, the hold lifted); the file of the 25th replayed: nothing.
	e.feed("pan_aadhaar_20260826.txt", "APP_PAN_NO|PAN_AADHAAR_LINK|APP_STATUSDT\nZZZPZ9999Z|Y|25-08-2026\n")
	final := "INV-1 on_hold address mismatch: proof sent kra_status_20260820.txt:2 false :0, " +
		"INV-2 validated re-verified kra_status_20260821.txt:2 false pan_aadhaar_20260826.txt:2, " +
		"INV-3 on_hold second kra_status_20260819.txt:5 false :0"
	check("aadhaar 26th", "9 6 INV-1:kyc_on_hold,INV-3:kyc_on_hold", final)
	e.feed("pan_aadhaar_20260825.txt", "APP_PAN_NO|PAN_AADHAAR_LINK|APP_STATUSDT\nZZZPZ9999Z|N|25-08-2026\n")
	e.feed("kra_status_20260819.txt", s19)
	check("aadhaar 25th and s19 replayed", "9 6 INV-1:kyc_on_hold,INV-3:kyc_on_hold", final)
	if got := strings.Join(e.kycEvents("INV-2"), ","); got != "on_hold,validated,on_hold,validated" {
		t.Errorf("INV-2 events %s, want on_hold,validated,on_hold,validated", got)
	}
}
