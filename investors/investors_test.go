package investors_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/fund/kyc"
	"github.com/fundflow/fundflow/internal/pii"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/investors"
	"github.com/fundflow/fundflow/investors/pgstore"
)

// The clock: Saturday 5 December 2026, 10:00 IST.
var now = time.Date(2026, 12, 5, 4, 30, 0, 0, time.UTC)

type env struct {
	owner *pgxpool.Pool
	svc   *investors.Service
	pii   *pii.Sealer
}

func setup(t *testing.T) *env {
	t.Helper()
	owner, _, app, _ := testkit.PGApp(t)
	s, err := pii.New(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return &env{owner: owner, pii: s, svc: &investors.Service{Store: pgstore.Store{Pool: app}, PII: s, Now: func() time.Time { return now }, Log: testkit.Logger(t)}}
}

// asha is a valid resident individual with two nominees (60 + 40 = 100).
const asha = `{"investor_id":"INV-1","name":"Asha Rao","pan":"abcpe1234f","dob":"1990-04-01","tax_status":"resident_individual",
	"email":"Asha@Example.in","mobile":"+91 98765 43210",
	"address":{"line1":"12 MG Road","city":"Bengaluru","state":"KA","pincode":"560001","country":"IN"},
	"bank_accounts":[{"account_no":"50100012345678","ifsc":"HDFC0001234","holder_name":"Asha Rao","type":"savings","default":true}],
	"nominees":[{"name":"Ravi Rao","relationship":"spouse","share":"60"},{"name":"Mira Rao","relationship":"daughter","share":40,"dob":"2015-06-01","guardian_name":"Ravi Rao"}],
	"fatca":{"birth_country":"IN","citizenship":"IN","tax_residencies":[{"country":"IN"}]}}`

func count(t *testing.T, e *env, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := e.owner.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// stored counts every row a change writes.
func stored(t *testing.T, e *env) int {
	return count(t, e, `SELECT (SELECT count(*) FROM investors) + (SELECT count(*) FROM investor_versions) + (SELECT count(*) FROM investor_profiles)
		+ (SELECT count(*) FROM investor_bank_accounts) + (SELECT count(*) FROM outbox) + (SELECT count(*) FROM audit_log)`)
}

func events(t *testing.T, e *env, id string) []investors.Event {
	t.Helper()
	rows, err := e.owner.Query(context.Background(), `SELECT key, payload FROM outbox WHERE topic = 'investors.changed' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []investors.Event
	for rows.Next() {
		var key string
		var p []byte
		if err := rows.Scan(&key, &p); err != nil {
			t.Fatal(err)
		}
		var ev investors.Event
		if err := json.Unmarshal(p, &ev); err != nil {
			t.Fatal(err)
		}
		if key != ev.InvestorID {
			t.Errorf("event key %q, investor %q: one investor's events must share a key", key, ev.InvestorID)
		}
		if ev.InvestorID == id {
			out = append(out, ev)
		}
	}
	return out
}

func TestCreate(t *testing.T) {
	e := setup(t)
	ctx := testkit.Ctx(t)
	rec, out, err := e.svc.Create(ctx, []byte(asha), "onboarding", investors.ChannelAPI)
	if err != nil || out != investors.Created || rec.Seq != 1 {
		t.Fatalf("create: %v %v %+v", out, err, rec)
	}
	// Normalised: upper-case PAN, E.164 mobile.
	if rec.Investor.PAN != "ABCPE1234F" || rec.Investor.Mobile != "+919876543210" {
		t.Errorf("normalised record: pan %q mobile %q", rec.Investor.PAN, rec.Investor.Mobile)
	}
	// The investors row the platform reads: PAN and account sealed for INV-1.
	var name, phone, tax string
	var panEnc, bankEnc []byte
	if err := e.owner.QueryRow(ctx, `SELECT name, phone, tax_country, pan_enc, bank_account_enc FROM investors WHERE id = 'INV-1'`).
		Scan(&name, &phone, &tax, &panEnc, &bankEnc); err != nil {
		t.Fatal(err)
	}
	if pan, err := e.pii.Open("INV-1", "pan", panEnc); err != nil || pan != "ABCPE1234F" {
		t.Errorf("pan_enc opens to %q %v", pan, err)
	}
	if acct, err := e.pii.Open("INV-1", "bank_account", bankEnc); err != nil || acct != "50100012345678" {
		t.Errorf("bank_account_enc opens to %q %v", acct, err)
	}
	if name != "Asha Rao" || phone != "+919876543210" || tax != "IN" {
		t.Errorf("row: %q %q %q", name, phone, tax)
	}
	// The profile: no PII in the clear; the PAN's fingerprint to match KRA feeds.
	var ts, panFP, nomination string
	var nominees int
	var fatca bool
	if err := e.owner.QueryRow(ctx, `SELECT tax_status, pan_fp, nomination, nominee_count, fatca_declared FROM investor_profiles WHERE investor_id = 'INV-1'`).
		Scan(&ts, &panFP, &nomination, &nominees, &fatca); err != nil {
		t.Fatal(err)
	}
	if ts != "resident_individual" || panFP != e.pii.Fingerprint("pan", "ABCPE1234F") || nomination != "nominated" || nominees != 2 || !fatca {
		t.Errorf("profile: %s %s %s %d %v", ts, panFP, nomination, nominees, fatca)
	}
	// The event: every field the new record has, the fingerprints of the
	// new bank account (IFSC:ACCOUNT), mobile (digits) and email (lower case).
	evs := events(t, e, "INV-1")
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	ev := evs[0]
	wantFields := []string{"address", "bank_account", "dob", "email", "fatca", "mobile", "name", "nominee", "pan", "tax_status"}
	wantFP := map[string]string{
		"bank_account": e.pii.Fingerprint("bank_account", "HDFC0001234:50100012345678"),
		"mobile":       e.pii.Fingerprint("mobile", "919876543210"),
		"email":        e.pii.Fingerprint("email", "asha@example.in"),
	}
	if ev.EventID != "investors.changed:INV-1:1" || ev.ChangeSeq != 1 || !reflect.DeepEqual(ev.Fields, wantFields) ||
		!reflect.DeepEqual(ev.Fingerprints, wantFP) || ev.Channel != "api" || ev.KYCStatus != "" ||
		ev.EffectiveFrom != "2026-12-05T04:30:00Z" || ev.At != "2026-12-05T04:30:00.000Z" {
		t.Errorf("event %+v", ev)
	}
	// The audit row names the change, never the values.
	var payload string
	if err := e.owner.QueryRow(ctx, `SELECT payload::text FROM audit_log WHERE entity = 'investor' AND entity_id = 'INV-1'`).Scan(&payload); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"ABCPE1234F", "50100012345678", "9876543210", "asha@example", "1990-04-01"} {
		if strings.Contains(strings.ToLower(payload), strings.ToLower(secret)) {
			t.Errorf("audit payload holds %q: %s", secret, payload)
		}
	}

	// The same record again (written differently): unchanged, nothing stored.
	before := stored(t, e)
	again := strings.Replace(asha, `"share":40`, `"share":"40.00"`, 1)
	if _, out, err := e.svc.Create(ctx, []byte(again), "onboarding", investors.ChannelAPI); err != nil || out != investors.Unchanged {
		t.Fatalf("resend: %v %v", out, err)
	}
	// Another record for INV-1 by POST: a conflict, nothing stored.
	other := strings.Replace(asha, "Asha Rao\",\"pan", "Asha R\",\"pan", 1)
	_, _, err = e.svc.Create(ctx, []byte(other), "onboarding", investors.ChannelAPI)
	var ie *investors.Error
	if !errors.As(err, &ie) || ie.Kind != investors.Conflict {
		t.Fatalf("POST over a record: %v", err)
	}
	if n := stored(t, e); n != before {
		t.Errorf("rows %d → %d after a resend and a conflict", before, n)
	}
}

func TestRefusalsStoreNothing(t *testing.T) {
	e := setup(t)
	ctx := testkit.Ctx(t)
	for _, c := range []struct {
		name   string
		body   string
		kind   investors.ErrorKind
		fields []string
	}{
		{"not JSON", `{"investor_id":`, investors.Malformed, nil},
		{"empty", ``, investors.Malformed, nil},
		{"unknown field", strings.Replace(asha, `"name"`, `"nmae"`, 1), investors.Invalid, []string{"nmae"}},
		{"wrong type", strings.Replace(asha, `"dob":"1990-04-01"`, `"dob":19900401`, 1), investors.Invalid, []string{"dob"}},
		// 60 + 30 = 90
		{"shares 90", strings.Replace(asha, `"share":40`, `"share":30`, 1), investors.Invalid, []string{"nominees"}},
		{"bad PAN and IFSC", strings.Replace(strings.Replace(asha, "abcpe1234f", "abcce1234f", 1), "HDFC0001234", "HDFC1001234", 1),
			investors.Invalid, []string{"bank_accounts[0].ifsc", "pan"}},
		{"US residency without TIN", strings.Replace(asha, `[{"country":"IN"}]`, `[{"country":"IN"},{"country":"US"}]`, 1),
			investors.Invalid, []string{"fatca.tax_residencies[1].tin"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := e.svc.Create(ctx, []byte(c.body), "onboarding", investors.ChannelAPI)
			var ie *investors.Error
			if !errors.As(err, &ie) || ie.Kind != c.kind {
				t.Fatalf("got %v, want kind %d", err, c.kind)
			}
			var got []string
			for _, f := range ie.Fields {
				got = append(got, f.Field)
			}
			if !reflect.DeepEqual(got, c.fields) {
				t.Errorf("fields %v, want %v", got, c.fields)
			}
		})
	}
	if n := stored(t, e); n != 0 {
		t.Errorf("%d rows stored by refused requests", n)
	}
}

func TestPatch(t *testing.T) {
	e := setup(t)
	ctx := testkit.Ctx(t)
	if _, _, err := e.svc.Create(ctx, []byte(asha), "onboarding", investors.ChannelAPI); err != nil {
		t.Fatal(err)
	}
	// A new mobile: version 2 touching only the mobile.
	rec, out, err := e.svc.Patch(ctx, "INV-1", []byte(`{"mobile":"9123456789"}`), "onboarding", investors.ChannelAPI)
	if err != nil || out != investors.Updated || rec.Seq != 2 || rec.Investor.Mobile != "+919123456789" || rec.Investor.Name != "Asha Rao" {
		t.Fatalf("patch mobile: %v %v %+v", out, err, rec)
	}
	// A second account becomes the default; arrays are replaced whole.
	rec, _, err = e.svc.Patch(ctx, "INV-1", []byte(`{"bank_accounts":[
		{"account_no":"50100012345678","ifsc":"HDFC0001234","holder_name":"Asha Rao","type":"savings","default":false},
		{"account_no":"000123456789","ifsc":"SBIN0000001","holder_name":"Asha Rao","type":"savings","default":true}]}`), "onboarding", investors.ChannelAPI)
	if err != nil || rec.Seq != 3 {
		t.Fatalf("patch accounts: %v %+v", err, rec)
	}
	// Then the first account is dropped: kept, marked removed.
	if _, _, err = e.svc.Patch(ctx, "INV-1", []byte(`{"bank_accounts":[
		{"account_no":"000123456789","ifsc":"SBIN0000001","holder_name":"Asha Rao","type":"savings","default":true}]}`), "onboarding", investors.ChannelAPI); err != nil {
		t.Fatal(err)
	}
	if n := count(t, e, `SELECT count(*) FROM investor_bank_accounts WHERE investor_id = 'INV-1' AND removed_at IS NOT NULL AND ifsc = 'HDFC0001234'`); n != 1 {
		t.Errorf("removed accounts %d, want 1", n)
	}
	if n := count(t, e, `SELECT count(*) FROM investor_bank_accounts WHERE investor_id = 'INV-1' AND is_default AND ifsc = 'SBIN0000001' AND removed_at IS NULL`); n != 1 {
		t.Errorf("the SBI account is not the one default")
	}
	var bankEnc []byte
	if err := e.owner.QueryRow(ctx, `SELECT bank_account_enc FROM investors WHERE id = 'INV-1'`).Scan(&bankEnc); err != nil {
		t.Fatal(err)
	}
	if a, _ := e.pii.Open("INV-1", "bank_account", bankEnc); a != "000123456789" {
		t.Errorf("payout account %q, want the new default", a)
	}
	// Opt out of nomination: null deletes the nominees.
	rec, _, err = e.svc.Patch(ctx, "INV-1", []byte(`{"nominees":null,"nomination_opt_out":true}`), "onboarding", investors.ChannelAPI)
	if err != nil || len(rec.Investor.Nominees) != 0 {
		t.Fatalf("opt out: %v %+v", err, rec.Investor.Nominees)
	}
	evs := events(t, e, "INV-1")
	var got [][]string
	for i, ev := range evs {
		if ev.ChangeSeq != i+1 || ev.EventID != fmt.Sprintf("investors.changed:INV-1:%d", i+1) {
			t.Errorf("event %d: seq %d id %s", i, ev.ChangeSeq, ev.EventID)
		}
		got = append(got, ev.Fields)
	}
	want := [][]string{
		{"address", "bank_account", "dob", "email", "fatca", "mobile", "name", "nominee", "pan", "tax_status"},
		{"mobile"}, {"bank_account"}, {"bank_account"}, {"nominee"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fields of the changes %v, want %v", got, want)
	}
	// Only the fingerprints of touched fields: the mobile's change carries the mobile's.
	if fp := evs[1].Fingerprints; len(fp) != 1 || fp["mobile"] != e.pii.Fingerprint("mobile", "919123456789") {
		t.Errorf("mobile change fingerprints %v", fp)
	}
	if fp := evs[2].Fingerprints; len(fp) != 1 || fp["bank_account"] != e.pii.Fingerprint("bank_account", "SBIN0000001:000123456789") {
		t.Errorf("account change fingerprints %v", fp)
	}
	// The history: five versions, each sealed, each opening to its record.
	if n := count(t, e, `SELECT count(*) FROM investor_versions WHERE investor_id = 'INV-1'`); n != 5 {
		t.Errorf("%d versions, want 5", n)
	}

	before := stored(t, e)
	for _, c := range []struct {
		name, patch string
		kind        investors.ErrorKind
		field       string
	}{
		// Opting back in with shares 50 + 30 = 80.
		{"shares 80", `{"nomination_opt_out":false,"nominees":[{"name":"A","relationship":"son","share":50},{"name":"B","relationship":"son","share":30}]}`, investors.Invalid, "nominees"},
		{"id change", `{"investor_id":"INV-2"}`, investors.Invalid, "investor_id"},
		{"minor without guardian", `{"tax_status":"minor","dob":"2012-02-29","pan":null}`, investors.Invalid, "guardian"},
		{"array", `[1]`, investors.Malformed, ""},
	} {
		_, _, err := e.svc.Patch(ctx, "INV-1", []byte(c.patch), "onboarding", investors.ChannelAPI)
		var ie *investors.Error
		if !errors.As(err, &ie) || ie.Kind != c.kind || (c.field != "" && (len(ie.Fields) == 0 || ie.Fields[0].Field != c.field)) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	// The same value again: unchanged.
	if _, out, err := e.svc.Patch(ctx, "INV-1", []byte(`{"mobile":"09123456789"}`), "onboarding", investors.ChannelAPI); err != nil || out != investors.Unchanged {
		t.Errorf("same mobile: %v %v", out, err)
	}
	if _, _, err := e.svc.Patch(ctx, "INV-9", []byte(`{"mobile":"9123456789"}`), "onboarding", investors.ChannelAPI); !isKind(err, investors.NotFound) {
		t.Errorf("unknown investor: %v", err)
	}
	if n := stored(t, e); n != before {
		t.Errorf("rows %d → %d after refusals", before, n)
	}
}

func isKind(err error, k investors.ErrorKind) bool {
	var ie *investors.Error
	return errors.As(err, &ie) && ie.Kind == k
}

// One PAN, one investor; an investor first created by an order (a bare
// investors row) is onboarded onto that row.
func TestPANTakenAndBareInvestor(t *testing.T) {
	e := setup(t)
	ctx := testkit.Ctx(t)
	if _, err := e.owner.Exec(ctx, `INSERT INTO investors (id) VALUES ('INV-2')`); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.Create(ctx, []byte(asha), "onboarding", investors.ChannelAPI); err != nil {
		t.Fatal(err)
	}
	second := strings.Replace(asha, `"INV-1"`, `"INV-2"`, 1)
	_, _, err := e.svc.Create(ctx, []byte(second), "onboarding", investors.ChannelAPI)
	var ie *investors.Error
	if !errors.As(err, &ie) || ie.Kind != investors.Invalid || len(ie.Fields) != 1 || ie.Fields[0].Field != "pan" {
		t.Fatalf("second investor with INV-1's PAN: %v", err)
	}
	second = strings.Replace(second, "abcpe1234f", "ZZZPZ9999Z", 1)
	if _, out, err := e.svc.Create(ctx, []byte(second), "onboarding", investors.ChannelAPI); err != nil || out != investors.Created {
		t.Fatalf("bare INV-2 onboarded: %v %v", out, err)
	}
}

// Concurrent changes of one investor each get their own version: the
// sequence has no gap and no repeat, every change has its event.
func TestConcurrentPatches(t *testing.T) {
	e := setup(t)
	ctx := testkit.Ctx(t)
	if _, _, err := e.svc.Create(ctx, []byte(asha), "onboarding", investors.ChannelAPI); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, _, err := e.svc.Patch(ctx, "INV-1", []byte(fmt.Sprintf(`{"email":"a%d@example.in"}`, i)), "onboarding", investors.ChannelAPI)
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// 1 create + 8 patches = versions 1..9, one event each.
	if got := count(t, e, `SELECT count(*) FROM investor_versions WHERE investor_id = 'INV-1' AND change_seq BETWEEN 1 AND 9`); got != 9 {
		t.Errorf("versions %d, want 9", got)
	}
	if got := len(events(t, e, "INV-1")); got != 9 {
		t.Errorf("events %d, want 9", got)
	}
}

// A minor: the majority date is stored (29 Feb 2012 → 1 Mar 2030), no
// nomination applies.
func TestMinorProfile(t *testing.T) {
	e := setup(t)
	ctx := testkit.Ctx(t)
	var inv kyc.Investor
	if err := json.Unmarshal([]byte(asha), &inv); err != nil {
		t.Fatal(err)
	}
	inv.ID, inv.TaxStatus, inv.PAN, inv.DOB, inv.Nominees = "INV-M", kyc.Minor, "", "2012-02-29", nil
	inv.Guardian = &kyc.Guardian{Name: "Asha Rao", PAN: "ABCPE1234F", Relationship: "mother"}
	b, _ := json.Marshal(inv)
	if _, _, err := e.svc.Create(ctx, b, "onboarding", investors.ChannelAPI); err != nil {
		t.Fatal(err)
	}
	var majority time.Time
	var nomination, gfp, pfp string
	if err := e.owner.QueryRow(ctx, `SELECT majority_on, nomination, guardian_pan_fp, pan_fp FROM investor_profiles WHERE investor_id = 'INV-M'`).
		Scan(&majority, &nomination, &gfp, &pfp); err != nil {
		t.Fatal(err)
	}
	if majority.Format("2006-01-02") != "2030-03-01" || nomination != "not_applicable" || gfp != e.pii.Fingerprint("pan", "ABCPE1234F") || pfp != "" {
		t.Errorf("minor's profile: %s %s %s %q", majority.Format("2006-01-02"), nomination, gfp, pfp)
	}
}
