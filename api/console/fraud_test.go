package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/fundflow/fundflow/api"
	"github.com/fundflow/fundflow/api/console"
	"github.com/fundflow/fundflow/fraud/review"
	"github.com/fundflow/fundflow/internal/fraudtest"
	"github.com/fundflow/fundflow/internal/moneytest"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/jobs/fraudeval"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// fraudConsole is a console over a fresh database with one fraud case: a
// purchase of 47,500.00 (within 5,000 under the 50,000 PAN threshold)
// that a hold rule held, its alert open with the order's event as
// evidence.
func fraudConsole(t *testing.T) (srv *httptest.Server, db moneytest.DB, holdID int64, alertID string) {
	t.Helper()
	l, db, app := fraudtest.Ledger(t)
	ctx := testkit.Ctx(t)
	db.Scheme("E1", "Equity Scheme - Flexi Cap Fund")
	fraudtest.Place(t, l, `{"order_id":"P1","type":"purchase","investor_id":"INV-F1","folio":"F1","scheme_code":"E1","amount":"47500.00","placed_at":"2026-08-03T10:00:00+05:30","payment_ref":"order_P1"}`)
	rs := fraudtest.HoldJustUnder(t)
	if _, err := fraudeval.NewSink(fraudeval.Deps{PG: &postgres.Store{Pool: app}, Ledger: l, Log: testkit.Logger(t)}, rs).OutboxPass(ctx, 100); err != nil {
		t.Fatal(err)
	}
	alertID = "just-under:orders.status:P1:awaiting_payment"
	if err := app.QueryRow(ctx, `SELECT hold_id FROM fraud_alerts WHERE id = $1`, alertID).Scan(&holdID); err != nil {
		t.Fatal(err)
	}
	auth := &api.Auth{HS256Secret: secret}
	h, err := console.New(console.Config{Auth: auth, Store: &console.Store{PG: &postgres.Store{Pool: app}},
		Fraud: &review.Service{Ledger: l, Pool: app}, Log: testkit.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	srv = httptest.NewServer(api.New(api.Config{Auth: auth, Console: h}, nil, nil, testkit.Logger(t)))
	t.Cleanup(srv.Close)
	return srv, db, holdID, alertID
}

// The holds and alerts page lists the open hold and the open alert with
// its evidence; ops-a closes the alert as a false positive, which makes
// ops-a the case's last toucher, so ops-a's release is refused (403, four
// eyes) and changes nothing; ops-b releases it: the hold is closed by
// ops-b as released, audited, and leaves the page.
func TestConsoleFraudHoldFourEyes(t *testing.T) {
	srv, db, holdID, alertID := fraudConsole(t)
	a, b := token(t, api.RoleOps, "ops-a"), token(t, api.RoleOps, "ops-b")
	page := func(cookie string) string {
		t.Helper()
		resp, body := do(t, "GET", srv.URL+"/ops/fraud", cookie, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /ops/fraud: %d\n%s", resp.StatusCode, body)
		}
		return body
	}
	body := page(a)
	for _, want := range []string{fmt.Sprintf(`id="hold-%d"`, holdID), alertID, "outbox:", "under_review", "INV-F1"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page does not show %q", want)
		}
	}
	csrfA := csrfField.FindStringSubmatch(body)[1]
	resp, _ := do(t, "POST", srv.URL+"/ops/fraud/alerts/close", a, url.Values{"csrf": {csrfA}, "id": {alertID}, "status": {"false_positive"}, "note": {"known customer"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("close by ops-a: %d", resp.StatusCode)
	}
	if got := db.Str(`SELECT status || ' ' || last_touched_by FROM fraud_alerts WHERE id = $1`, alertID); got != "false_positive ops-a" {
		t.Errorf("alert after the close: %s", got)
	}
	release := fmt.Sprintf("%s/ops/fraud/holds/%d/release", srv.URL, holdID)
	resp, body = do(t, "POST", release, a, url.Values{"csrf": {csrfA}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "four eyes") {
		t.Errorf("release by ops-a: %d, want 403 four eyes\n%s", resp.StatusCode, body)
	}
	if n := db.Num(`SELECT count(*) FROM order_holds WHERE id = $1 AND closed_at IS NULL`, holdID); n != 1 {
		t.Fatalf("the refused release closed the hold")
	}
	// ops-b's form carries ops-b's CSRF token, not ops-a's
	resp, _ = do(t, "POST", release, b, url.Values{"csrf": {csrfA}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("release by ops-b with ops-a's CSRF token: %d, want 403", resp.StatusCode)
	}
	csrfB := csrfField.FindStringSubmatch(page(b))[1]
	resp, _ = do(t, "POST", release, b, url.Values{"csrf": {csrfB}})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/ops/fraud?done=") {
		t.Fatalf("release by ops-b: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := db.Str(`SELECT resolution || ' ' || closed_by FROM order_holds WHERE id = $1`, holdID); got != "released ops-b" {
		t.Errorf("hold after ops-b's release: %s", got)
	}
	if n := db.Num(`SELECT count(*) FROM audit_log WHERE entity = 'order_hold' AND action = 'released' AND payload->>'by' = 'ops-b'`); n != 1 {
		t.Errorf("%d audit rows of the release, want 1", n)
	}
	if body := page(b); !strings.Contains(body, "No open holds.") || !strings.Contains(body, "No open alerts.") {
		t.Errorf("the page still shows the case")
	}
}

// The fraud page in Chromium: ops-b signs in, sees the held order and the
// alert's evidence, clicks Release; the page says so and the hold is
// closed by ops-b. A screenshot is saved as console-fraud.png.
func TestConsoleFraudInChromium(t *testing.T) {
	ctx := browser(t)
	srv, db, holdID, alertID := fraudConsole(t)
	shots := screenshotDir(t)
	text := func(id string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(id)))
		if err != nil {
			t.Fatalf("text of #%s: %v", id, err)
		}
		return s
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/ops/fraud"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SetValue(chromedp.ID("token"), token(t, api.RoleOps, "ops-b")),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("holds")),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			buf, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, "console-fraud.png"), buf, 0o644)
		}),
	); err != nil {
		t.Fatal(err)
	}
	if holds, alerts := text("holds"), text("fraud-alerts"); !strings.Contains(holds, "P1") || !strings.Contains(holds, "under_review") ||
		!strings.Contains(alerts, alertID) || !strings.Contains(alerts, "outbox:") {
		t.Errorf("the page shows holds %q, alerts %q", holds, alerts)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID(fmt.Sprintf("release-%d", holdID))), chromedp.WaitVisible(chromedp.ID("flash"))); err != nil {
		t.Fatal(err)
	}
	if flash, want := text("flash"), fmt.Sprintf("hold %d released by ops-b", holdID); flash != want {
		t.Errorf("flash %q, want %q", flash, want)
	}
	if got := db.Str(`SELECT resolution || ' ' || closed_by FROM order_holds WHERE id = $1`, holdID); got != "released ops-b" {
		t.Errorf("hold after the click: %s", got)
	}
}
