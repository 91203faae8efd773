package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `fundflow pool fees` in process, as the README runs it: terms, two NAVs
// accruing, the bill with its invoice files, the same bill again, and the
// refusals' exit codes. By hand: 36.5 % a year on 1,000.00 is 1.00 a day;
// 21 Aug's NAV accrues 21 Aug (1.00) and the weekend on the value after,
// 1,000.00 − 1.18 = 998.82 (2 × 0.99882): 2.99764 → 2.99; GST 0.5382 →
// 0.54 (provisioned with it); total 3.53.
func TestPoolFeeCommands(t *testing.T) {
	db, cfgPath := poolCmdEnv(t)
	ff := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"--config", cfgPath, "--log-level", "error", "pool"}, args...), &out, io.Discard)
		return out.String(), err
	}
	must := func(args ...string) string {
		t.Helper()
		out, err := ff(args...)
		if err != nil {
			t.Fatalf("pool %v: %v\n%s", args, err, out)
		}
		return out
	}
	must("create", "P1", "--name", "Income", "--launch", "10.0000")
	must("fees", "terms", "--pool", "P1", "--from", "2026-08-20", "--aum-rate", "36.5", "--perf", "10")
	must("contribute", "--pool", "P1", "--wallet", "W1", "--request", "c-W1", "--amount", "1000.00", "--clock", "2026-08-20T10:00:00+05:30")
	must("nav", "--day", "2026-08-20")
	must("nav", "--day", "2026-08-21")
	out := t.TempDir()
	bill := func() map[string]any {
		t.Helper()
		var inv map[string]any
		if err := json.Unmarshal([]byte(must("fees", "bill", "--pool", "P1", "--from", "2026-08-20", "--to", "2026-08-21", "--out", out)), &inv); err != nil {
			t.Fatal(err)
		}
		return inv
	}
	inv := bill()
	if inv["invoice_id"] != "PFEE-P1-2026-08-20-2026-08-21" || inv["pool_id"] != "P1" || inv["aum_fee"] != "2.99" || inv["gst"] != "0.54" || inv["total"] != "3.53" {
		t.Errorf("invoice %v", inv)
	}
	if again := bill(); again["total"] != "3.53" {
		t.Errorf("billed again %v", again)
	}
	csv, err := os.ReadFile(filepath.Join(out, "PFEE-P1-2026-08-20-2026-08-21.csv"))
	if err != nil || !strings.Contains(string(csv), "Total,3.53") {
		t.Errorf("invoice CSV %q, %v", csv, err)
	}
	if pdf, err := os.ReadFile(filepath.Join(out, "PFEE-P1-2026-08-20-2026-08-21.pdf")); err != nil || !bytes.HasPrefix(pdf, []byte("%PDF")) {
		t.Errorf("invoice PDF: %v", err)
	}
	var shown map[string]any
	if err := json.Unmarshal([]byte(must("fees", "invoice", "--invoice", "PFEE-P1-2026-08-20-2026-08-21")), &shown); err != nil || shown["total"] != "3.53" {
		t.Errorf("fees invoice %v, %v", shown, err)
	}
	if got := db.Str(`SELECT cash || ' ' || fee_accrued FROM pools WHERE id = 'P1'`); got != "996.47"+" 0.00" {
		t.Errorf("pool %s, want 1,000.00 − 3.53 = 996.47 and nothing accrued", got)
	}
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"fees", "terms", "--pool", "P1", "--from", "2026-09-01", "--aum-rate", "101"}, 2},
		{[]string{"fees", "terms", "--pool", "P1", "--from", "2026-09-01", "--aum-rate", "x"}, 2},
		{[]string{"fees", "terms", "--pool", "NOPE", "--from", "2026-09-01", "--aum-rate", "1"}, 2},
		{[]string{"fees", "bill", "--pool", "P1", "--from", "2026-08-20", "--to", "2026-09-30"}, 2}, // another end, same start
		{[]string{"fees", "bill", "--pool", "P1", "--from", "2026-08-31", "--to", "2026-08-20"}, 2},
		{[]string{"fees", "bill", "--pool", "P1", "--from", "2026-08-22", "--to", "2026-08-31"}, 2},       // not accrued to 31 Aug
		{[]string{"fees", "terms", "--pool", "P1", "--from", "2026-08-23", "--aum-rate", "1"}, 2},         // accrued through 23 Aug
		{[]string{"fees", "bill", "--from", "2026-08-20", "--to", "2026-08-31", "--out", out}, 2},         // --out without --pool
		{[]string{"fees", "cancel", "--invoice", "PFEE-P1-2026-08-20-2026-08-21", "--reason", "test"}, 2}, // paid: not due
		{[]string{"fees", "cancel", "--invoice", "PFEE-NOPE", "--reason", "test"}, 2},
		{[]string{"fees", "invoice", "--invoice", "PFEE-NOPE"}, 2},
	} {
		_, err := ff(c.args...)
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != c.code {
			t.Errorf("%v: %v, want exit %d", c.args, err, c.code)
		}
	}
}
