package kycmaster_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/fundflow/fundflow/connectors/kafka"
	"github.com/fundflow/fundflow/internal/pii"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/investors"
	"github.com/fundflow/fundflow/investors/pgstore"
	"github.com/fundflow/fundflow/jobs/kycmaster"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
)

func record(id, pan, name string) string {
	return `{"investor_id":"` + id + `","name":"` + name + `","pan":"` + pan + `","dob":"1990-04-01","tax_status":"resident_individual",
	"email":"a@example.in","mobile":"9876543210","address":{"line1":"1 Road","city":"Pune","pincode":"411001","country":"IN"},
	"bank_accounts":[{"account_no":"123456789012","ifsc":"HDFC0001234","holder_name":"A B","type":"savings","default":true}],
	"nomination_opt_out":true,"fatca":{"birth_country":"IN","citizenship":"IN","tax_residencies":[{"country":"IN"}]}}`
}

// The topic end to end on kfake: new investors are created, a message for
// one on file patches it, and poison (not JSON, no investor id, a key that
// is not the id, a PAN of the wrong holder type) is quarantined with its
// topic, partition, offset and reason while the messages after it are
// stored; a redelivered batch changes nothing.
func TestInvestorTopic(t *testing.T) {
	ctx := testkit.Ctx(t)
	brokers := testkit.Kafka(t, 1, "investors.master")
	_, _, app, _ := testkit.PGApp(t)
	s, _ := pii.New(bytes.Repeat([]byte{4}, 32))
	svc := &investors.Service{Store: pgstore.Store{Pool: app}, PII: s, Log: testkit.Logger(t)}
	msgs := []kafkago.Message{
		{Key: []byte("K1"), Value: []byte(record("K1", "ABCPE1234F", "A B"))},               // offset 0: created
		{Key: []byte("K2"), Value: []byte(`{"investor_id":`)},                               // 1: bad_json
		{Key: []byte("K3"), Value: []byte(record("K3", "ABCCE1234F", "C D"))},               // 2: 4th letter C (company) for a resident individual: invalid
		{Key: []byte("K4"), Value: []byte(`{"name":"no id"}`)},                              // 3: missing_field
		{Key: []byte("K9"), Value: []byte(record("K5", "MMMPM5555M", "E F"))},               // 4: key_mismatch
		{Key: []byte("K1"), Value: []byte(`{"investor_id":"K1","email":"new@example.in"}`)}, // 5: patch of K1
		{Key: []byte("K6"), Value: []byte(record("K6", "ZZZPZ9999Z", "G H"))},               // 6: created
	}
	w := &kafkago.Writer{Addr: kafkago.TCP(brokers...), Topic: "investors.master", Balancer: &kafkago.Hash{}, RequiredAcks: kafkago.RequireAll, BatchTimeout: 5 * time.Millisecond}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
	src, err := kafka.NewSource(kafka.Config{Brokers: brokers, Topic: "investors.master", GroupID: "fundflow-investors", Batch: 100})
	if err != nil {
		t.Fatal(err)
	}
	p := kycmaster.Pipeline(src, svc, &postgres.Store{Pool: app}, pipelines.NewMetrics(prometheus.NewRegistry()), testkit.Logger(t))
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { _, err := p.Run(runCtx); done <- err }()
	num := func(q string) int {
		var n int
		if err := app.QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for end := time.Now().Add(time.Minute); num(`SELECT count(*) FROM investor_versions`)+num(`SELECT count(*) FROM quarantine`) < 3+4; {
		if time.Now().After(end) {
			t.Fatal("gave up waiting for the topic to be consumed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	rows, err := app.Query(ctx, `SELECT topic || '/' || partition || '/' || "offset" || ' ' || reason FROM quarantine ORDER BY "offset"`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		got = append(got, s)
	}
	rows.Close()
	want := "investors.master/0/1 bad_json, investors.master/0/2 invalid_investor, investors.master/0/3 missing_field, investors.master/0/4 key_mismatch"
	if strings.Join(got, ", ") != want {
		t.Errorf("quarantine:\n%s\nwant\n%s", strings.Join(got, ", "), want)
	}
	var detail string
	_ = app.QueryRow(ctx, `SELECT detail FROM quarantine WHERE "offset" = 2`).Scan(&detail)
	if !strings.Contains(detail, "pan") {
		t.Errorf("the invalid record's detail does not name the field: %q", detail)
	}
	// K1 created then patched (2 versions), K6 created; K3 stored nothing.
	if got := num(`SELECT count(*) FROM investor_versions WHERE investor_id = 'K1' AND channel = 'kafka'`); got != 2 {
		t.Errorf("K1 versions %d, want 2", got)
	}
	if got := num(`SELECT count(*) FROM investors WHERE id IN ('K3', 'K5')`); got != 0 {
		t.Errorf("%d rows of refused investors", got)
	}
	r, err := svc.Get(ctx, "K1")
	if err != nil || r.Investor.Email != "new@example.in" {
		t.Errorf("K1 after the patch: %q %v", r.Investor.Email, err)
	}
	// The same records again (a redelivery): Unchanged, no new version.
	before := num(`SELECT count(*) FROM investor_versions`)
	if err := (kycmaster.Sink{Service: svc}).Write(ctx, pipelines.Batch[kycmaster.Record]{Items: []kycmaster.Record{
		{InvestorID: "K6", Body: msgs[6].Value}, {InvestorID: "K1", Body: msgs[5].Value}}}); err != nil {
		t.Fatal(err)
	}
	if after := num(`SELECT count(*) FROM investor_versions`); after != before {
		t.Errorf("a redelivery wrote %d versions", after-before)
	}
}

func FuzzStage(f *testing.F) {
	f.Add([]byte("K1"), []byte(`{"investor_id":"K1"}`))
	f.Add([]byte(""), []byte(`{"investor_id":""}`))
	f.Add([]byte("x"), []byte(`[1,2]`))
	f.Fuzz(func(t *testing.T, key, value []byte) {
		r, err := kycmaster.Stage(context.Background(), kafka.Message{Key: key, Value: value})
		if err != nil {
			return
		}
		if r.InvestorID == "" || (len(key) > 0 && string(key) != r.InvestorID) {
			t.Fatalf("accepted %q for key %q", r.InvestorID, key)
		}
	})
}
