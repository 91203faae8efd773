package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/ledger"
	lpg "github.com/fundflow/fundflow/ledger/pgstore"
	"github.com/fundflow/fundflow/pool"
	poolpg "github.com/fundflow/fundflow/pool/pgstore"
	"github.com/fundflow/fundflow/wallet"
	walletpg "github.com/fundflow/fundflow/wallet/pgstore"
)

// fakeWallets holds INV-1's wallet W-1, auto-investing into F-1, and
// INV-2's W-2 without auto-invest.
type fakeWallets struct{}

func (fakeWallets) View(_ context.Context, id string) (wallet.View, bool, error) {
	switch id {
	case "W-1":
		return wallet.View{ID: "W-1", InvestorID: "INV-1", Status: "open", Balance: fund.MustAmount("3000.01"), Model: "moderate", Folio: "F-1"}, true, nil
	case "W-2":
		return wallet.View{ID: "W-2", InvestorID: "INV-2", Status: "open", Balance: fund.MustAmount("5.00")}, true, nil
	}
	return wallet.View{}, false, nil
}

// CancelWithdrawal: W-1's r1 is cancelled; nothing else exists (the
// cancel route's own test serves a real wallet.Service).
func (fakeWallets) CancelWithdrawal(_ context.Context, walletID, requestID string) (wallet.Withdrawn, error) {
	if walletID != "W-1" || requestID != "r1" {
		return wallet.Withdrawn{}, wallet.ErrNoWithdrawal
	}
	return wallet.Withdrawn{WalletID: "W-1", RequestID: "r1", Amount: fund.MustAmount("400.00"), Status: wallet.WithdrawalCancelled, Balance: fund.MustAmount("3000.01")}, nil
}

func TestWalletRoute(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	status, _, body := e.get(t, "/v1/wallets/W-1", investor(t, "INV-1"))
	var v map[string]string
	if status != 200 || json.Unmarshal(body, &v) != nil || v["balance"] != "3000.01" || v["model"] != "moderate" || v["folio"] != "F-1" || v["status"] != "open" {
		t.Fatalf("owner: %d %s", status, body)
	}
	// Another's wallet and no wallet look the same.
	for _, c := range []struct{ path, tok string }{
		{"/v1/wallets/W-2", investor(t, "INV-1")},
		{"/v1/wallets/NOPE", investor(t, "INV-1")},
		{"/v1/wallets/W-1", investor(t, "INV-2")},
	} {
		status, h, body := e.get(t, c.path, c.tok)
		if status != http.StatusNotFound || problemCode(t, h, body) != api.CodeNotFound {
			t.Errorf("%s: %d %s", c.path, status, body)
		}
	}
	// Staff read any wallet.
	if status, _, body := e.get(t, "/v1/wallets/W-2", token(t, claims(api.RoleOps, "ops-1", 3600e9))); status != 200 {
		t.Errorf("ops: %d %s", status, body)
	}
	// Not served: 503.
	e2 := setup(t, func(c *api.Config) { c.Wallets = nil })
	if status, h, body := e2.get(t, "/v1/wallets/W-1", investor(t, "INV-1")); status != http.StatusServiceUnavailable || problemCode(t, h, body) != api.CodeUnavailable {
		t.Errorf("no wallets: %d %s", status, body)
	}
}

// POST /v1/wallets/{id}/withdrawals/{wid}/cancel over the real wallet
// service: INV-1's W-1 holds ₹1,000.00, ₹400.00 of it parked by a fraud
// restriction (r1) and ₹100.00 paid before it (r0). Cancelling r1 puts
// the 400.00 back (600.00 + 400.00 = 1,000.00), a replay answers the same
// 200 and moves nothing, r0 (paid) is 409, and another's wallet or an
// unknown request is 404.
func TestCancelWithdrawalRoute(t *testing.T) {
	t.Parallel()
	svc := &wallet.Service{Audit: true}
	e := setup(t, func(c *api.Config) { c.Wallets = svc })
	pg, ctx := e.store.PG, testkit.Ctx(t)
	svc.Store = walletpg.Store{Pool: pg}
	for _, w := range [][2]string{{"W-1", "INV-1"}, {"W-2", "INV-2"}} {
		if err := svc.Open(ctx, w[0], w[1]); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{
		`UPDATE wallets SET balance = 1000 WHERE id = 'W-1'`,
		`INSERT INTO wallet_transactions (wallet_id, kind, ref, amount) VALUES ('W-1', 'deposit', 'dep-1', 1000)`,
		`INSERT INTO wallet_postings (tx_id, seq, account, asset, amount) SELECT id, 0, 'wallet_cash:razorpay', 'INR', 1000 FROM wallet_transactions
			UNION ALL SELECT id, 1, 'wallet:W-1', 'INR', -1000 FROM wallet_transactions`,
	} {
		if _, err := pg.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.Withdraw(ctx, "W-1", "r0", fund.MustAmount("100.00")); err != nil {
		t.Fatal(err)
	}
	l := &ledger.Service{Store: lpg.New(pg)}
	if err := l.SetRestriction(ctx, ledger.Restriction{InvestorID: "INV-1", Source: ledger.HoldFraud, Reason: ledger.ReasonUnderReview, BlocksRedemption: true, By: "fraud-rules"}); err != nil {
		t.Fatal(err)
	}
	if out, err := svc.Withdraw(ctx, "W-1", "r1", fund.MustAmount("400.00")); err != nil || out.Status != wallet.WithdrawalPending {
		t.Fatalf("parked: %+v %v", out, err)
	}
	balance := func() string {
		var b string
		if err := pg.QueryRow(ctx, `SELECT balance::numeric(18,2)::text FROM wallets WHERE id = 'W-1'`).Scan(&b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	if got := balance(); got != "500.00" { // 1,000.00 − 100.00 − 400.00
		t.Fatalf("W-1 %s before the cancel, want 500.00", got)
	}
	// Not the owner, no such request, another wallet's path: 404, nothing moves.
	for _, c := range []struct{ path, tok string }{
		{"/v1/wallets/W-1/withdrawals/r1/cancel", investor(t, "INV-2")},
		{"/v1/wallets/W-1/withdrawals/nope/cancel", investor(t, "INV-1")},
		{"/v1/wallets/W-2/withdrawals/r1/cancel", investor(t, "INV-2")},
		{"/v1/wallets/NOPE/withdrawals/r1/cancel", investor(t, "INV-1")},
	} {
		status, h, body := e.do(t, "POST", c.path, c.tok, "")
		if status != http.StatusNotFound || problemCode(t, h, body) != api.CodeNotFound {
			t.Errorf("%s: %d %s", c.path, status, body)
		}
	}
	// Compliance reads wallets but does not act for investors.
	if status, _, body := e.do(t, "POST", "/v1/wallets/W-1/withdrawals/r1/cancel", token(t, claims(api.RoleCompliance, "c-1", 3600e9)), ""); status != http.StatusForbidden {
		t.Errorf("compliance: %d %s", status, body)
	}
	if got := balance(); got != "500.00" {
		t.Fatalf("W-1 %s after refusals, want 500.00", got)
	}
	// The owner cancels; ops replays it: the same answer, once.
	for i, tok := range []string{investor(t, "INV-1"), token(t, claims(api.RoleOps, "ops-1", 3600e9))} {
		status, _, body := e.do(t, "POST", "/v1/wallets/W-1/withdrawals/r1/cancel", tok, "")
		var v map[string]string
		if status != 200 || json.Unmarshal(body, &v) != nil || v["status"] != "cancelled" || v["amount"] != "400.00" || v["balance"] != "900.00" || v["request_id"] != "r1" {
			t.Errorf("cancel %d: %d %s", i, status, body)
		}
	}
	if got := balance(); got != "900.00" { // 500.00 + 400.00
		t.Errorf("W-1 %s after the cancel, want 900.00", got)
	}
	var n int
	if err := pg.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE topic = 'wallet.withdrawal.cancelled'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d cancelled events (%v), want 1", n, err)
	}
	// Paid already: 409.
	status, h, body := e.do(t, "POST", "/v1/wallets/W-1/withdrawals/r0/cancel", investor(t, "INV-1"), "")
	if status != http.StatusConflict || problemCode(t, h, body) != api.CodeWithdrawalNotPending {
		t.Errorf("paid: %d %s", status, body)
	}
	if got := balance(); got != "900.00" {
		t.Errorf("W-1 %s after the 409, want 900.00", got)
	}
}

// The statement of F-1 (INV-1) for 1-Feb to 31-Mar-2024 shows W-1, which
// auto-invests into F-1, from its journal: opening 1,000.00 (a deposit of
// 5-Jan); deposits 5,000.00 + 2,500.50 = 7,500.50 in two entries; invested
// 4,000.00; fees 118.00 at 23:00 IST on 31-Mar (in the period); a
// withdrawal at 00:30 IST on 1-Apr, 31-Mar in UTC, is not (the days are
// Indian); closing 1,000.00 + 7,500.50 − 4,000.00 − 118.00 = 4,382.50. Its
// pools (the fake's P1: 174.999 units at 6.6667, 1,166.67) follow.
func TestStatementShowsTheFoliosWallet(t *testing.T) {
	t.Parallel()
	svc := &wallet.Service{}
	e := setup(t, func(c *api.Config) { c.WalletStatements = svc })
	pg, ctx := e.store.PG, testkit.Ctx(t)
	svc.Store = walletpg.Store{Pool: pg}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := pg.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO wallets (id, investor_id) VALUES ('W-1', 'INV-1')`)
	exec(`INSERT INTO autoinvest_terms (wallet_id, model_id, folio_no) VALUES ('W-1', 'moderate', 'F-1')`)
	for i, c := range []struct{ kind, amount, at, other string }{
		{"deposit", "1000.00", "2024-01-05T10:00:00+05:30", "wallet_cash:razorpay"},
		{"deposit", "5000.00", "2024-02-10T10:00:00+05:30", "wallet_cash:razorpay"},
		{"invest", "4000.00", "2024-02-11T10:00:00+05:30", "wallet_cash:razorpay"},
		{"deposit", "2500.50", "2024-03-01T10:00:00+05:30", "wallet_cash:razorpay"},
		{"fee", "118.00", "2024-03-31T23:00:00+05:30", "fee_income:managed"},
		{"withdrawal", "100.00", "2024-04-01T00:30:00+05:30", "payout:wallet:W-1"},
	} {
		sign := "-" // the wallet credited: money in
		if c.kind != "deposit" {
			sign = ""
		}
		exec(`WITH t AS (INSERT INTO wallet_transactions (wallet_id, kind, ref, amount, posted_at) VALUES ('W-1', $1, $2, $3::numeric, $4) RETURNING id)
			INSERT INTO wallet_postings (tx_id, seq, account, asset, amount)
			SELECT id, 0, 'wallet:W-1', 'INR', ($5 || $3)::numeric FROM t UNION ALL SELECT id, 1, $6, 'INR', -($5 || $3)::numeric FROM t`,
			c.kind, fmt.Sprint("r", i), c.amount, c.at, sign, c.other)
	}
	text, line := statementText(t, e, "/v1/folios/F-1/statement.pdf?from=2024-02-01&to=2024-03-31")
	wantLines(t, line, map[string]string{
		"Managed wallet W-1":         "Managed wallet W-1, 2024-02-01 to 2024-03-31 (model moderate)",
		"Opening balance 2024":       "Opening balance 2024-02-01 1,000.00",
		"Deposits":                   "Deposits 2 7,500.50",
		"Invested (auto-invest":      "Invested (auto-invest purchases) 1 4,000.00",
		"Fees charged":               "Fees charged (with GST) 1 118.00",
		"Closing balance 2024-03-31": "Closing balance 2024-03-31 4,382.50",
	})
	if strings.Contains(text, "Withdrawals") {
		t.Errorf("the 1-Apr IST withdrawal is on the statement:\n%s", text)
	}
	// The fake's pool P1 has its first NAV in August 2026: not held at the
	// end of March 2024.
	if strings.Contains(text, "Income (P1)") {
		t.Errorf("a pool held only since 2026 is on a 2024 statement:\n%s", text)
	}
	// Another folio's statement has no wallet section.
	status, _, pdf := e.get(t, "/v1/folios/F-2/statement.pdf", investor(t, "INV-1"))
	if _, text := pdfPage1(t, pdf); status != 200 || strings.Contains(text, "Managed wallet") {
		t.Errorf("F-2: %d, a wallet section", status)
	}
}

// TestStatementPoolsAtItsEndAndRebalances: the wallet section values the
// wallet's pool units as they stood at the statement's end, at the pool's
// NAV of that day or the latest before it (not the latest NAV, not today's
// units), and lists the rebalances proposed in the period with the day
// each was executed, if by the end. The journal rows carry explicit
// times, as the database's clock would.
func TestStatementPoolsAtItsEndAndRebalances(t *testing.T) {
	t.Parallel()
	svc, pools := &wallet.Service{}, &pool.Service{}
	e := setup(t, func(c *api.Config) { c.WalletStatements, c.Pools = svc, pools })
	pg, ctx := e.store.PG, testkit.Ctx(t)
	svc.Store, pools.Store = walletpg.Store{Pool: pg}, poolpg.Store{Pool: pg}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := pg.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO wallets (id, investor_id) VALUES ('W-1', 'INV-1')`)
	exec(`INSERT INTO autoinvest_terms (wallet_id, model_id, folio_no) VALUES ('W-1', 'moderate', 'F-1')`)
	exec(`INSERT INTO pools (id, name, launch_nav, units) VALUES ('P9', 'Growth', 10, 180)`)
	exec(`INSERT INTO pool_members (pool_id, wallet_id, units) VALUES ('P9', 'W-1', 180)`)
	// Units into (+) or out of (−) W-1's pool account: priced contributions
	// of 100 and 80 units; 30 units given up by withdrawal w1 on 20 Mar and
	// priced on 2 Apr, after the period; 50 more units on 5 Apr.
	for _, c := range []struct {
		kind, ref, units, other, at string
	}{
		{"pool_priced", "c1", "100", "pool_issued:P9", "2024-02-05T16:00:00+05:30"},
		{"pool_priced", "c2", "80", "pool_issued:P9", "2024-03-10T16:00:00+05:30"},
		{"pool_withdrawal", "w1", "-30", "pool_redeeming:P9", "2024-03-20T11:00:00+05:30"},
		{"pool_priced", "w1", "", "", "2024-04-02T16:00:00+05:30"},
		{"pool_priced", "c3", "50", "pool_issued:P9", "2024-04-05T16:00:00+05:30"},
	} {
		if c.units == "" { // the withdrawal priced: the units cancelled from redeeming
			exec(`WITH t AS (INSERT INTO wallet_transactions (wallet_id, kind, ref, amount, posted_at) VALUES ('W-1', $1, $2, 0, $3) RETURNING id)
				INSERT INTO wallet_postings (tx_id, seq, account, asset, amount)
				SELECT id, 0, 'pool_redeeming:P9', 'POOL:P9', 30 FROM t UNION ALL SELECT id, 1, 'pool_issued:P9', 'POOL:P9', -30 FROM t`, c.kind, c.ref, c.at)
			continue
		}
		exec(`WITH t AS (INSERT INTO wallet_transactions (wallet_id, kind, ref, amount, posted_at) VALUES ('W-1', $1, $2, 0, $3) RETURNING id)
			INSERT INTO wallet_postings (tx_id, seq, account, asset, amount)
			SELECT id, 0, $4, 'POOL:P9', $5::numeric FROM t UNION ALL SELECT id, 1, 'pool_units:P9:W-1', 'POOL:P9', -$5::numeric FROM t`,
			c.kind, c.ref, c.at, c.other, c.units)
	}
	exec(`INSERT INTO pool_requests (id, pool_id, wallet_id, kind, units, received_at, nav_date, nav, priced_at, status, amount)
		VALUES ('w1', 'P9', 'W-1', 'withdrawal', 30, '2024-03-20T11:00:00+05:30', '2024-04-02', 12.0000, '2024-04-02T16:00:00+05:30', 'priced', 360.00)`)
	// The pool's NAVs: 28 Mar (the last business day of March: 29 Mar was
	// Good Friday) and 1 Apr, after the period.
	exec(`INSERT INTO pool_navs (pool_id, nav_date, nav, holdings, cash, units, launch) VALUES
		('P9', '2024-03-27', 11.0000, 0, 1980, 180, false), ('P9', '2024-03-28', 11.2347, 0, 2022.25, 180, false),
		('P9', '2024-04-01', 12.0000, 0, 2160, 180, false)`)
	// Rebalances: one just after IST midnight on 1 Feb (31 Jan in UTC),
	// executed two minutes later; one proposed on 31 Mar and executed on
	// 1 Apr; one proposed on 31 Jan IST, before the period.
	for _, r := range []struct{ id, created, placed string }{
		{"RB-W-1-20240201", "2024-02-01T00:10:00+05:30", "2024-02-01T00:12:00+05:30"},
		{"RB-W-1-20240331", "2024-03-31T22:00:00+05:30", "2024-04-01T09:00:00+05:30"},
		{"RB-W-1-20240131", "2024-01-31T23:50:00+05:30", "2024-01-31T23:55:00+05:30"},
	} {
		exec(`INSERT INTO rebalance_runs (id, wallet_id, folio_no, model_id, model_version, tax_aware, plan, requests, status, created_at, placed_at)
			VALUES ($1, 'W-1', 'F-1', 'moderate', 1, false, '{}', '[]', 'placed', $2, $3)`, r.id, r.created, r.placed)
	}
	exec(`INSERT INTO rebalance_switches (switch_id, run_id, wallet_id, from_scheme, to_scheme, amount) VALUES
		('S1', 'RB-W-1-20240201', 'W-1', 'A', 'B', 1200.00), ('S2', 'RB-W-1-20240201', 'W-1', 'A', 'C', 300.50),
		('S3', 'RB-W-1-20240331', 'W-1', 'C', 'A', 250.00), ('S4', 'RB-W-1-20240131', 'W-1', 'B', 'A', 99.00)`)

	text, line := statementText(t, e, "/v1/folios/F-1/statement.pdf?from=2024-02-01&to=2024-03-31")
	// At the end of 31 Mar: 100 + 80 − 30 = 150.000 units and 30.000
	// pending; at 28 Mar's 11.2347: 180.000 × 11.2347 = 2,022.246 →
	// 2,022.25 (half-up). (The latest NAV, 12.0000 on 1 Apr, and today's
	// 180 + 50 units would give 2,760.00.)
	wantLines(t, line, map[string]string{
		"Pool at":         "Pool at 2024-03-31 Units Pending Pool NAV NAV date Value (₹)", // "withdrawal" wraps
		"Growth (P9)":     "Growth (P9) 150.000 30.000 11.2347 2024-03-28 2,022.25",
		"RB-W-1-20240201": "RB-W-1-20240201 2024-02-01 2024-02-01 2 1,500.50 executed",
		"RB-W-1-20240331": "RB-W-1-20240331 2024-03-31 1 250.00 proposed",
	})
	if strings.Contains(text, "RB-W-1-20240131") {
		t.Errorf("a rebalance of 31 Jan IST is on the February-March statement:\n%s", text)
	}
}

// wantLines checks that each label's line (line, from statementText) is
// the one given.
func wantLines(t *testing.T, line func(string) string, want map[string]string) {
	t.Helper()
	for label, w := range want {
		if got := line(label); got != w {
			t.Errorf("%q line: %q, want %q", label, got, w)
		}
	}
}

// statementText fetches a statement PDF as INV-1 and returns its first
// page's text and a finder of the line holding a label, spaces collapsed.
func statementText(t *testing.T, e *env, url string) (string, func(label string) string) {
	t.Helper()
	status, _, pdf := e.get(t, url, investor(t, "INV-1"))
	if status != 200 {
		t.Fatalf("%d %s", status, pdf)
	}
	_, text := pdfPage1(t, pdf)
	return text, func(label string) string {
		for _, l := range strings.Split(text, "\n") {
			if strings.Contains(l, label) {
				return strings.Join(strings.Fields(l), " ")
			}
		}
		return ""
	}
}
