package kra

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/kyc"
	"github.com/fundflow/fundflow/pipelines"
)

func rows(t *testing.T, text string) (Kind, []Row) {
	t.Helper()
	p, err := NewParser(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	var out []Row
	for {
		r, err := p.Next()
		if errors.Is(err, io.EOF) {
			return p.Kind(), out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
}

// 05-12-2026 10:30:00 IST is 05:00:00 UTC.
var at = time.Date(2026, 12, 5, 5, 0, 0, 0, time.UTC)

func TestStatusFile(t *testing.T) {
	// Columns in another order, an unknown column, a blank line, CRLF.
	text := "APP_NAME|APP_STATUSDT|APP_PAN_NO|APP_STATUS|APP_HOLD_DEACTIVE_RMKS|EXTRA\r\n" +
		"ASHA RAO|05-12-2026 10:30:00|abcpe1234f|007||x\r\n" +
		"\r\n" +
		"RAVI|05-12-2026 10:30:00|ZZZPZ9999Z|03|Address mismatch|x\r\n" +
		"BAD PAN|05-12-2026|ABC12|02||x\r\n" +
		"UNKNOWN CODE|05-12-2026|ABCPE1234G|08||x\r\n" +
		"NO ANSWER|05-12-2026|ABCPE1234H|99||x\r\n" +
		"BAD DATE|2026-12-05|ABCPE1234J|02||x\r\n" +
		"SHORT|05-12-2026|ABCPE1234K\r\n" +
		"DATE ONLY|05/12/2026|ABCPE1234L|12||x\r\n"
	kind, rs := rows(t, text)
	if kind != KindStatus {
		t.Fatalf("kind %s", kind)
	}
	want := []struct {
		line   int
		pan    string
		status kyc.Status
		reason string
	}{
		{2, "ABCPE1234F", kyc.Validated, ""},
		{4, "ZZZPZ9999Z", kyc.OnHold, ""},
		{5, "", "", ReasonBadPAN},
		{6, "ABCPE1234G", "", ReasonBadStatus},
		{7, "ABCPE1234H", "", ReasonUnreachable},
		{8, "ABCPE1234J", "", ReasonBadDate},
		{9, "", "", ReasonShortRow},
		{10, "ABCPE1234L", kyc.RegisteredIncomplete, ""},
	}
	if len(rs) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(rs), len(want), rs)
	}
	for i, w := range want {
		r := rs[i]
		if r.Line != w.line || r.Reason != w.reason || r.Status != w.status || (w.pan != "" && r.PAN != w.pan) {
			t.Errorf("row %d: %+v, want %+v", i, r, w)
		}
	}
	if !rs[0].At.Equal(at) || rs[1].Remarks != "Address mismatch" || rs[0].Name != "ASHA RAO" {
		t.Errorf("row 1 at %s, row 2 remarks %q", rs[0].At, rs[1].Remarks)
	}
	// DD/MM/YYYY without a time: midnight IST = 18:30 UTC the day before.
	if want := time.Date(2026, 12, 4, 18, 30, 0, 0, time.UTC); !rs[7].At.Equal(want) {
		t.Errorf("date only: %s, want %s", rs[7].At, want)
	}
}

// The IOP1 shape: a status column per KRA; the record is where a KRA has it.
func TestPerKRAColumns(t *testing.T) {
	text := "APP_PAN_NO,APP_STATUSDT,CVLKRA,CAMSKRA,NDMLKRA\n" +
		"ABCPE1234F,05-12-2026,05,07,05\n" + // CAMS holds it: validated
		"ABCPE1234G,05-12-2026,05,05,05\n" + // nobody: not available
		"ABCPE1234H,05-12-2026,99,05,99\n" + // two did not answer, one has none: not available
		"ABCPE1234J,05-12-2026,99,99,\n" + // no answer at all
		"ABCPE1234K,05-12-2026,003,05,05\n" // CVL: on hold
	_, rs := rows(t, text)
	for i, w := range []struct {
		kra    string
		status kyc.Status
		reason string
	}{{"CAMSKRA", kyc.Validated, ""}, {"", kyc.NotAvailable, ""}, {"", kyc.NotAvailable, ""}, {"", "", ReasonUnreachable}, {"CVLKRA", kyc.OnHold, ""}} {
		if r := rs[i]; r.KRA != w.kra || r.Status != w.status || r.Reason != w.reason {
			t.Errorf("row %d: kra %q status %q reason %q, want %+v", i, r.KRA, r.Status, r.Reason, w)
		}
	}
}

func TestAadhaarFile(t *testing.T) {
	_, rs := rows(t, "APP_PAN_NO|PAN_AADHAAR_LINK|APP_STATUSDT\nABCPE1234F|N|01-07-2023\nABCPE1234G|Y|\nABCPE1234H|E|\nABCPE1234J|maybe|\n")
	if len(rs) != 4 || !rs[0].Inoperative || rs[1].Inoperative || rs[2].Inoperative || rs[3].Reason != ReasonBadLink || rs[1].Reason != "" {
		t.Fatalf("%+v", rs)
	}
}

func TestHeaderRefused(t *testing.T) {
	for _, h := range []string{"", "\n\n", "<html><body>502</body></html>\n", "APP_PAN_NO|APP_NAME\nX|Y\n", "APP_PAN_NO|APP_STATUS\n"} {
		if _, err := NewParser(strings.NewReader(h)); !errors.Is(err, ErrNotKRAFile) {
			t.Errorf("header %q: %v", h, err)
		}
	}
	// Through the feed decoder: rejected whole.
	if _, err := Decode(strings.NewReader("<html>oops</html>"), fund.Origin{File: "kra.txt"}); !errors.Is(err, pipelines.ErrRejectFile) {
		t.Errorf("decode of an HTML page: %v", err)
	}
}

func TestDecodeAndStage(t *testing.T) {
	next, err := Decode(strings.NewReader("APP_PAN_NO|APP_STATUS|APP_STATUSDT\nABCPE1234F|02|05-12-2026\nABCPE1234G|42|05-12-2026\n"), fund.Origin{File: "kra.txt", SHA256: "s"})
	if err != nil {
		t.Fatal(err)
	}
	it, _ := next()
	rec, err := Stage(nil, it)
	if err != nil || rec.Status != kyc.Registered || rec.From.Line != 2 || rec.From.File != "kra.txt" {
		t.Fatalf("good row: %+v %v", rec, err)
	}
	it, _ = next()
	var re *pipelines.RejectError
	if _, err := Stage(nil, it); !errors.As(err, &re) || re.Reason != ReasonBadStatus {
		t.Fatalf("bad row: %v", err)
	}
	if pos, raw := it.Origin(); pos.Line != 3 || string(raw) != "ABCPE1234G|42|05-12-2026" {
		t.Fatalf("origin %+v %q", pos, raw)
	}
	if _, err := next(); !errors.Is(err, io.EOF) {
		t.Fatalf("end: %v", err)
	}
}
