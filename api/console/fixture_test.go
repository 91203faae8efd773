package console_test

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/api/console"
	"github.com/fundflow/fundflow/connectors/file"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/holidays"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/jobs/navingest"
	"github.com/fundflow/fundflow/sinks/postgres"
	"github.com/fundflow/fundflow/transforms/freshness"
)

var secret = []byte("console-test-secret-0123456789abcdef")

const navHead = "Scheme Code;ISIN Div Payout/ ISIN Growth;ISIN Div Reinvestment;Scheme Name;Net Asset Value;Date\r\n \r\n" +
	"Open Ended Schemes(Equity Scheme - Large Cap Fund)\r\n \r\n"

// fixture is a console over a fresh database: three schemes of two AMCs
// with a NAV on Thu 20-Aug-2026; on Fri the 21st two arrived and the third
// (100003, Gamma) jumped 40 % and is held in quarantine for nav_jump; one
// open recon break first seen on the 10th; two open alerts, one of them a
// refund due (pay_T2, ₹2,500.50); one payment break (pay_T1). The console judges at Mon 24-Aug-2026 09:00 IST.
type fixture struct {
	pg       *pgxpool.Pool
	srv      *httptest.Server
	store    *console.Store
	held     int64 // the quarantined nav_jump row
	breakID  int64
	csrfKey  []byte
	now      time.Time
	navingst *config.NAVIngest
	mu       sync.Mutex
	access   []api.AccessEvent // every answered request
}

func (f *fixture) accessLog() []api.AccessEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]api.AccessEvent(nil), f.access...)
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := testkit.Ctx(t)
	_, _, app, _ := testkit.PGApp(t)
	ch, _ := testkit.CH(t)
	dir := t.TempDir()
	files := []string{
		navHead + "Alpha Mutual Fund\r\n \r\n" +
			"100001;INF000A01011;-;Alpha Fund - Growth;20.0000;20-Aug-2026\r\n" +
			"100002;INF000A01029;-;Alpha Liquid Fund - Growth;1000.0000;20-Aug-2026\r\n" +
			" \r\nGamma Mutual Fund\r\n \r\n" +
			"100003;INF000A01037;-;Gamma Fund - Growth;10.0000;20-Aug-2026\r\n",
		navHead + "Alpha Mutual Fund\r\n \r\n" +
			"100001;INF000A01011;-;Alpha Fund - Growth;20.1000;21-Aug-2026\r\n" +
			"100002;INF000A01029;-;Alpha Liquid Fund - Growth;1000.2000;21-Aug-2026\r\n" +
			" \r\nGamma Mutual Fund\r\n \r\n" +
			"100003;INF000A01037;-;Gamma Fund - Growth;14.0000;21-Aug-2026\r\n", // +40 %: held
	}
	t0 := time.Now().Add(-time.Hour)
	for i, f := range files {
		p := filepath.Join(dir, "NAVAll_"+string(rune('1'+i))+".txt")
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
		at := t0.Add(time.Duration(i) * time.Minute)
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Parse("test.yaml", []byte("pipelines:\n  nav-ingest:\n    source: {kind: file, path: "+dir+", stable_for: 0s}\n    max_reject_rate: 0.9\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Pipelines.NAVIngest
	pg := &postgres.Store{Pool: app}
	d := navingest.Deps{PG: pg, CH: ch, Log: testkit.Logger(t)}
	p, err := navingest.NewFrom(ctx, d, c, file.Dir{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := p.Run(ctx); err != nil || st.Out != 5 || st.Reasons["nav_jump"] != 1 {
		t.Fatalf("nav-ingest: %+v %v, want 5 NAVs published and one jump held", st, err)
	}
	f := &fixture{pg: app, csrfKey: []byte("csrf-key-for-the-console-tests!!"), navingst: c,
		now: time.Date(2026, 8, 24, 9, 0, 0, 0, fund.IST())}
	if err := app.QueryRow(ctx, `SELECT id FROM quarantine WHERE reason = 'nav_jump' AND status = 'open'`).Scan(&f.held); err != nil {
		t.Fatal(err)
	}
	var run int64
	if err := app.QueryRow(ctx, `INSERT INTO recon_runs (recon_date, holdings_rtas, transactions_rtas) VALUES ('2026-08-21', '{CAMS}', '{CAMS}') RETURNING id`).Scan(&run); err != nil {
		t.Fatal(err)
	}
	if err := app.QueryRow(ctx, `INSERT INTO recon_breaks (break_key, scope, type, rta, folio, scheme_code, rta_units, ledger_units, units_diff,
			detail, status, first_seen, last_seen, last_run)
		VALUES ('h|units_mismatch|CAMS|F-1|100001', 'holding', 'units_mismatch', 'CAMS', 'F-1', '100001', 10.5, 10, 0.5,
			'CAMS holds 10.500000000 units, the ledger 10.000000000', 'open', '2026-08-10', '2026-08-21', $1) RETURNING id`, run).Scan(&f.breakID); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Exec(ctx, `INSERT INTO alerts (kind, subject, detail) VALUES ('feed_rejected', 'NAVAll_x.html', 'an HTML page, not a NAV file')`); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Exec(ctx, `INSERT INTO payments (id, gateway, amount, currency, status, status_rank, last_event_id, last_event_at, match_status)
			VALUES ('pay_T1', 'razorpay', 5000.00, 'INR', 'captured', 3, 'evt_1', now(), 'break');
		INSERT INTO payment_breaks (payment_id, order_id, reason, detail) VALUES ('pay_T1', 'ORD-9', 'amount_mismatch', 'paid 5000.00, ordered 5500.00');
		INSERT INTO payments (id, gateway, order_id, amount, currency, status, status_rank, last_event_id, last_event_at, match_status)
			VALUES ('pay_T2', 'razorpay', 'ORD-7', 2500.50, 'INR', 'captured', 3, 'evt_2', now(), 'matched');
		INSERT INTO alerts (kind, subject, detail) VALUES ('refund_due', 'pay_T2', 'order ORD-7 was cancelled after its payment was captured')`); err != nil {
		t.Fatal(err)
	}
	cal, err := holidays.Calendar()
	if err != nil {
		t.Fatal(err)
	}
	auth := &api.Auth{HS256Secret: secret}
	f.store = &console.Store{PG: pg, Freshness: freshness.Options{SLA: 15 * time.Minute, DeadAfterDays: 30, Calendar: cal}}
	h, err := console.New(console.Config{Auth: auth, Store: f.store,
		NAV: d, NAVIngest: c, Now: func() time.Time { return f.now }, Log: testkit.Logger(t), CSRFKey: f.csrfKey,
		Access: func(e api.AccessEvent) { f.mu.Lock(); f.access = append(f.access, e); f.mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	// Mounted on the query API exactly as serve mounts it.
	f.srv = httptest.NewServer(api.New(api.Config{Auth: auth, Console: h}, nil, nil, testkit.Logger(t)))
	t.Cleanup(f.srv.Close)
	return f
}

// token mints a token of role for sub, valid for an hour.
func token(t *testing.T, role, sub string) string {
	t.Helper()
	now := time.Now()
	c := api.Claims{Role: role}
	c.Subject = sub
	c.IssuedAt = jwt.NewNumericDate(now)
	c.ExpiresAt = jwt.NewNumericDate(now.Add(time.Hour))
	if role == api.RoleInvestor {
		c.InvestorID = "INV-1"
	}
	tok, err := api.Mint(secret, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// state is what the actions change: the held row, the break and the NAV
// the row would publish.
type state struct {
	QStatus, QBy      string
	QReplayed         bool
	BStatus, BBy      string
	GammaNAVOn21, Run int64
}

func (f *fixture) state(t *testing.T) state {
	t.Helper()
	var s state
	ctx := testkit.Ctx(t)
	if err := f.pg.QueryRow(ctx, `SELECT status, coalesce(resolved_by, ''), last_replay_at IS NOT NULL FROM quarantine WHERE id = $1`, f.held).
		Scan(&s.QStatus, &s.QBy, &s.QReplayed); err != nil {
		t.Fatal(err)
	}
	if err := f.pg.QueryRow(ctx, `SELECT status, explained_by FROM recon_breaks WHERE id = $1`, f.breakID).Scan(&s.BStatus, &s.BBy); err != nil {
		t.Fatal(err)
	}
	if err := f.pg.QueryRow(ctx, `SELECT count(*) FROM navs WHERE scheme_code = '100003' AND nav_date = '2026-08-21'`).Scan(&s.GammaNAVOn21); err != nil {
		t.Fatal(err)
	}
	if err := f.pg.QueryRow(ctx, `SELECT count(*) FROM job_runs WHERE pipeline = 'quarantine-replay'`).Scan(&s.Run); err != nil {
		t.Fatal(err)
	}
	return s
}
