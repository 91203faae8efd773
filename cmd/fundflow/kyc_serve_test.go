package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/fundflow/fundflow/internal/gatewaysim"
	"github.com/fundflow/fundflow/internal/pii"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/investors"
	"github.com/fundflow/fundflow/investors/pgstore"
	"github.com/fundflow/fundflow/jobs/kra"
	"github.com/fundflow/fundflow/jobs/kycbank"
)

// serve's schedule has the kra job when pipelines.kra.schedule is set; its
// run (under the single-runner lock, recorded in job_runs) applies a KRA
// file and asks the penny drop of the onboarded investor's account at the
// stand-in gateway; the gateway's signed webhook, posted to the handler
// serve mounts on the payment webhooks' listener, verifies the account
// and lifts the bank restriction the run set.
func TestServeSchedulesKRAAndBankVerification(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	t.Setenv("FUNDFLOW_PII_KEY", base64.StdEncoding.EncodeToString(key))
	t.Setenv("FUNDFLOW_TEST_RZPX_SECRET", "x-secret")
	t.Setenv("FUNDFLOW_TEST_RZP_KEY_ID", "rzp_k")
	t.Setenv("FUNDFLOW_TEST_RZP_KEY_SECRET", "rzp_s")
	sim := &gatewaysim.Server{KeyID: "rzp_k", KeySecret: "rzp_s", WebhookSecret: []byte("x-secret")}
	gw := httptest.NewServer(sim)
	t.Cleanup(gw.Close)
	sim.AddBank(gatewaysim.Bank{IFSC: "HDFC0001234", AccountNumber: "123456789012", RegisteredName: "A B"})

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "kra_1.txt"), []byte("APP_PAN_NO|APP_STATUS|APP_STATUSDT\nABCPE1234F|03|19-08-2026 18:00:00\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := moneyConfig(t, `  kra:
    schedule: "0 8 * * *"
    source: {kind: file, path: `+dir+`, stable_for: 0s}
    banks:
      source_account: "7878780080316316"
      secret_envs: [FUNDFLOW_TEST_RZPX_SECRET]
      gateway: {base_url: `+gw.URL+`, key_id_env: FUNDFLOW_TEST_RZP_KEY_ID, key_secret_env: FUNDFLOW_TEST_RZP_KEY_SECRET}
`)
	d, _ := testDepsAndOwner(t, cfg)
	ctx := testkit.Ctx(t)
	s, _ := pii.New(key)
	svc := &investors.Service{Store: pgstore.Store{Pool: d.pg.Pool}, PII: s}
	body := `{"investor_id":"INV-A","name":"A B","pan":"ABCPE1234F","dob":"1990-04-01","tax_status":"resident_individual",
	"email":"a@example.in","mobile":"9876543210","address":{"line1":"1 Road","city":"Pune","pincode":"411001","country":"IN"},
	"bank_accounts":[{"account_no":"123456789012","ifsc":"HDFC0001234","holder_name":"A B","type":"savings","default":true}],
	"nomination_opt_out":true,"fatca":{"birth_country":"IN","citizenship":"IN","tax_residencies":[{"country":"IN"}]}}`
	if _, _, err := svc.Create(ctx, []byte(body), "onboarding", investors.ChannelAPI); err != nil {
		t.Fatal(err)
	}

	sched, err := scheduledJobs(d)
	if err != nil {
		t.Fatal(err)
	}
	var run func(context.Context) error
	for _, j := range sched {
		if j.Name == kra.Name {
			if j.Spec != "0 8 * * *" {
				t.Errorf("kra spec %q", j.Spec)
			}
			run = j.Run
		}
	}
	if run == nil {
		t.Fatal("serve does not schedule the kra job")
	}
	if err := run(ctx); err != nil {
		t.Fatal(err)
	}
	if got := count(t, d, `SELECT count(*) FROM job_runs WHERE pipeline = 'kra' AND status = 'ok'`); got != 1 {
		t.Errorf("%d ok kra runs, want 1", got)
	}
	if got := count(t, d, `SELECT count(*) FROM kyc_status WHERE investor_id = 'INV-A' AND status = 'on_hold'`); got != 1 {
		t.Errorf("KRA status not applied")
	}
	if got := count(t, d, `SELECT count(*) FROM investor_restrictions WHERE investor_id = 'INV-A' AND source = 'bank' AND reason = 'bank_unverified'`); got != 1 {
		t.Errorf("no bank_unverified restriction after the run")
	}
	if got := count(t, d, `SELECT count(*) FROM bank_validations WHERE gateway_id LIKE 'fav_%'`); got != 1 {
		t.Errorf("%d penny drops asked, want 1", got)
	}

	hooks := kycWebhooks(d)
	h, ok := hooks[kycbank.Path]
	if !ok {
		t.Fatalf("no handler at %s: %v", kycbank.Path, hooks)
	}
	listener := httptest.NewServer(h)
	t.Cleanup(listener.Close)
	sim.WebhookURL = listener.URL
	if err := sim.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	if got := count(t, d, `SELECT count(*) FROM investor_bank_accounts WHERE investor_id = 'INV-A' AND verification = 'verified' AND name_match_score = 100`); got != 1 {
		t.Errorf("account not verified by the webhook")
	}
	if got := count(t, d, `SELECT count(*) FROM investor_restrictions WHERE investor_id = 'INV-A' AND source = 'bank'`); got != 0 {
		t.Errorf("bank restriction left after verification")
	}
}

// serve's wiring of the investor master's topic (startKYCStream, which
// serve calls): with pipelines.kra.investor_topic and Kafka configured it
// consumes the topic under its group: a record onboards the investor
// (version, event, audit) and a later patch changes it, a poison message
// is quarantined by offset and does not stop the flow, and the returned
// stop ends the consumer. Without a topic, or without brokers, nothing is
// started.
func TestServeConsumesInvestorMasterTopic(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	t.Setenv("FUNDFLOW_PII_KEY", base64.StdEncoding.EncodeToString(key))
	const topic = "investors.master"
	brokers := testkit.Kafka(t, 2, topic)
	t.Setenv("FUNDFLOW_TEST_KAFKA", joinBrokers(brokers))
	cfg := moneyConfig(t, `  kra:
    source: {kind: file, path: `+t.TempDir()+`, stable_for: 0s}
    investor_topic: `+topic+`
`)
	cfg.Services.KafkaBrokersEnv = "FUNDFLOW_TEST_KAFKA"
	d, _ := testDepsAndOwner(t, cfg)
	ctx := testkit.Ctx(t)

	record := `{"investor_id":"INV-K","name":"A B","pan":"ABCPE1234F","dob":"1990-04-01","tax_status":"resident_individual",
	"email":"a@example.in","mobile":"9876543210","address":{"line1":"1 Road","city":"Pune","pincode":"411001","country":"IN"},
	"bank_accounts":[{"account_no":"123456789012","ifsc":"HDFC0001234","holder_name":"A B","type":"savings","default":true}],
	"nomination_opt_out":true,"fatca":{"birth_country":"IN","citizenship":"IN","tax_residencies":[{"country":"IN"}]}}`
	produce(t, brokers, topic,
		kafkago.Message{Key: []byte("INV-K"), Value: []byte(record)},
		kafkago.Message{Key: []byte("INV-K"), Value: []byte(`{"investor_id":`)}, // poison: not JSON
		kafkago.Message{Key: []byte("INV-K"), Value: []byte(`{"investor_id":"INV-K","email":"new@example.in"}`)})

	stop, err := startKYCStream(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	num := func(q string) int { return count(t, d, q) }
	// All three are keyed INV-K: one partition, read in order.
	waitFor(t, "the record and its patch stored", func() bool {
		return num(`SELECT count(*) FROM investor_versions WHERE investor_id = 'INV-K'`) == 2
	})
	waitFor(t, "the poison message quarantined", func() bool {
		return num(`SELECT count(*) FROM quarantine WHERE pipeline = 'investor-master' AND topic = 'investors.master' AND reason = 'bad_json' AND "offset" = 1`) == 1
	})
	stop()
	if got := num(`SELECT count(*) FROM outbox WHERE topic = 'investors.changed' AND key = 'INV-K'`); got != 2 {
		t.Errorf("%d investors.changed events, want 2 (onboarded, patched)", got)
	}
	if got := num(`SELECT count(*) FROM audit_log WHERE entity = 'investor' AND entity_id = 'INV-K' AND action = 'changed'`); got != 2 {
		t.Errorf("%d audit rows, want 2", got)
	}
	// The group is pipelines.kra.investor_group's default.
	if g := d.cfg.Pipelines.KRA.InvestorGroup; g != "fundflow-investors" {
		t.Errorf("group %q", g)
	}

	// No topic, or no brokers: no consumer, and stop is a no-op.
	d.cfg.Pipelines.KRA.InvestorTopic = ""
	if stop, err := startKYCStream(ctx, d); err != nil {
		t.Fatal(err)
	} else {
		stop()
	}
	d.cfg.Pipelines.KRA.InvestorTopic = topic
	d.cfg.Services.KafkaBrokersEnv = "FUNDFLOW_TEST_NO_KAFKA"
	if stop, err := startKYCStream(ctx, d); err != nil {
		t.Fatal(err)
	} else {
		stop()
	}
}
