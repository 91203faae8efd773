package main

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/notify"
)

// `fundflow lint` loads notify.templates_dir: a template that names a field
// its event does not have (in any branch) fails with exit 2, naming the
// file and the field; the built-in set passes.
func TestLintChecksNotifyTemplates(t *testing.T) {
	dir := t.TempDir()
	tpl := filepath.Join(dir, "templates")
	if err := os.MkdirAll(tpl, 0o755); err != nil {
		t.Fatal(err)
	}
	builtin, _ := os.ReadDir("../../notify/templates")
	for _, e := range builtin {
		b, _ := os.ReadFile(filepath.Join("../../notify/templates", e.Name()))
		os.WriteFile(filepath.Join(tpl, e.Name()), b, 0o644)
	}
	cfg := filepath.Join(dir, "fundflow.yaml")
	os.WriteFile(cfg, []byte("pipelines: {}\nnotify:\n  templates_dir: templates\n"), 0o644)
	var out, errOut strings.Builder
	if err := run(context.Background(), []string{"lint", cfg}, &out, &errOut); err != nil {
		t.Fatalf("the built-in templates: %v", err)
	}
	os.WriteFile(filepath.Join(tpl, "orders.status.sms.v2.tmpl"), []byte("{{if .Reason}}{{.Amount}}{{end}}"), 0o644)
	err := run(context.Background(), []string{"lint", cfg}, &out, &errOut)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(err.Error(), "orders.status.sms.v2.tmpl: field Amount is not in the OrderStatusData data") {
		t.Fatalf("lint: %v", err)
	}
	if _, err := notify.LoadTemplates(os.DirFS(tpl)); err == nil {
		t.Fatal("the same check at load")
	}
}

// The demo's SMS path, in process: `notify twilio-sim` takes the SMS that
// `notify run` sends (its text ending with the message's reference) and
// delivers it without a callback; `notify receipts` fetches the status and
// records the receipt: delivered, with its time.
func TestNotifySMSAndItsReceipt(t *testing.T) {
	ctx := testkit.Ctx(t)
	pool, ownerURL := testkit.PG(t)
	t.Setenv("FUNDFLOW_PG_URL", testkit.AppURL(t, ownerURL))
	t.Setenv("FUNDFLOW_TWILIO_AUTH_TOKEN", "sim-token")
	t.Setenv("FUNDFLOW_SMTP_ADDR", "") // SMS only
	for _, q := range []string{
		`INSERT INTO investors (id, name, phone) VALUES ('INV1', 'Asha Rao', '+919800000001')`,
		`INSERT INTO folios (folio_no, investor_id) VALUES ('1234567890', 'INV1')`,
		`INSERT INTO notify_preferences (investor_id, event_type, channels) VALUES ('INV1', '*', '{sms}')`,
		`INSERT INTO outbox (event_id, topic, key, payload) VALUES ('sms-tx-1', 'transactions.completed', 'k', jsonb_build_object(
			'event_id', 'sms-tx-1', 'tx_id', 1, 'order_id', 'O1', 'request_id', 'R1', 'kind', 'purchase', 'folio', '1234567890',
			'investor_id', 'INV1', 'scheme_code', '100', 'nav_date', '2026-12-04', 'nav', '10.0000', 'units', '250.000',
			'amount', '2500.00', 'stamp_duty', '0.13', 'exit_load', '0', 'net_amount', '2499.87', 'placed_at', '', 'posted_at', ''))`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(t.TempDir(), "fundflow.yaml")
	if err := os.WriteFile(cfg, []byte("pipelines: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	simCtx, stop := context.WithCancel(ctx)
	simDone := make(chan error, 1)
	go func() {
		var out, errOut strings.Builder
		simDone <- run(simCtx, []string{"--config", cfg, "notify", "twilio-sim", "--listen", addr, "--deliver-after", "10ms"}, &out, &errOut)
	}()
	defer func() { stop(); <-simDone }()
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if i > 200 {
			t.Fatal("twilio-sim did not listen")
		}
		time.Sleep(25 * time.Millisecond)
	}
	sms := []string{"--twilio-url", "http://" + addr, "--twilio-account-sid", "ACdemo", "--twilio-from", "+15005550006"}
	var out, errOut strings.Builder
	if err := run(ctx, append([]string{"--config", cfg, "notify", "run"}, sms...), &out, &errOut); err != nil {
		t.Fatalf("notify run: %v\n%s", err, errOut.String())
	}
	for i := 0; ; i++ {
		out.Reset()
		if err := run(ctx, append([]string{"--config", cfg, "notify", "receipts", "--after", "0s"}, sms...), &out, &errOut); err != nil {
			t.Fatalf("notify receipts: %v\n%s", err, errOut.String())
		}
		if strings.TrimSpace(out.String()) == `{"recorded":1}` {
			break
		}
		if i > 100 {
			t.Fatalf("notify receipts: %s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	var status, sid string
	var delivered bool
	if err := pool.QueryRow(ctx, `SELECT status, provider_id, delivered_at IS NOT NULL FROM notifications WHERE event_id = 'sms-tx-1' AND channel = 'sms'`).
		Scan(&status, &sid, &delivered); err != nil {
		t.Fatal(err)
	}
	if status != "delivered" || !delivered || !strings.HasPrefix(sid, "SM") {
		t.Fatalf("the SMS row: status %s, sid %s, delivered_at set %v; want delivered with the gateway's SID", status, sid, delivered)
	}
}
