package notifyjob_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/jobs/notifyjob"
	"github.com/fundflow/fundflow/notify"
	"github.com/fundflow/fundflow/notify/pgstore"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// seed writes INV1 (an email), INV3 (whose name reads as a PAN: every
// text rendered for them is refused, a template error) and their folios.
func seed(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	for _, q := range []string{
		`INSERT INTO investors (id, name, email, phone) VALUES ('INV1', 'Asha Rao', 'asha@notify.test', '+919800000001'),
			('INV3', 'ABCDE1234F', 'pan@notify.test', '')`,
		`INSERT INTO folios (folio_no, investor_id) VALUES ('1234567890', 'INV1'), ('3333333333', 'INV3')`,
	} {
		if _, err := pool.Exec(testkit.Ctx(t), q); err != nil {
			t.Fatal(err)
		}
	}
}

func txEvent(id, investor, folio string) string {
	return fmt.Sprintf(`{"event_id":%q,"tx_id":1,"order_id":"O-%s","request_id":"R","kind":"purchase","folio":%q,
"investor_id":%q,"scheme_code":"120465","nav_date":"2026-12-04","nav":"52.1234","units":"10.000",
"amount":"1000.00","stamp_duty":"0.05","exit_load":"0","net_amount":"999.95","placed_at":"","posted_at":""}`, id, id, folio, investor)
}

func planner(t *testing.T, pool *pgxpool.Pool) notify.Planner {
	ts, err := notify.LoadTemplates(notify.Builtin())
	if err != nil {
		t.Fatal(err)
	}
	st := pgstore.Store{Pool: pool}
	return notify.Planner{Templates: ts, RM: st, Prefs: st}
}

// planned is what planning wrote: "event/channel" per notification and
// "event: reason" per dead letter.
func planned(t *testing.T, pool *pgxpool.Pool) (rows, dead []string) {
	t.Helper()
	ctx := testkit.Ctx(t)
	r, err := pool.Query(ctx, `SELECT event_id || '/' || channel FROM notifications ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var s string
		r.Scan(&s) //nolint:errcheck
		rows = append(rows, s)
	}
	r.Close()
	r, err = pool.Query(ctx, `SELECT event_id || ': ' || reason FROM notify_dead_letters ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var s string
		r.Scan(&s) //nolint:errcheck
		dead = append(dead, s)
	}
	r.Close()
	return rows, dead
}

// committed is the group's committed offset of a topic's partition 0 (-1:
// none).
func committed(t *testing.T, brokers []string, group, topic string) int64 {
	t.Helper()
	c := &kafkago.Client{Addr: kafkago.TCP(brokers...)}
	resp, err := c.OffsetFetch(testkit.Ctx(t), &kafkago.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: {0}}})
	if err != nil {
		t.Fatal(err)
	}
	ps := resp.Topics[topic]
	if len(ps) == 0 {
		return -1
	}
	return ps[0].CommittedOffset
}

// runKafka runs the planner's Kafka pipelines until the group of topic
// has committed offset want (or a pipeline fails), then stops them.
func runKafka(t *testing.T, p notifyjob.Planner, topic string, want int64) {
	t.Helper()
	ctx, cancel := context.WithCancel(testkit.Ctx(t))
	defer cancel()
	ps, err := p.Kafka()
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, len(ps))
	for _, pl := range ps {
		go func() {
			_, err := pl.Run(ctx)
			errc <- err
		}()
	}
	defer func() {
		cancel()
		for range ps {
			<-errc
		}
	}()
	for committed(t, p.Brokers, p.Group+"/"+topic, topic) != want {
		select {
		case err := <-errc:
			errc <- err
			t.Fatalf("a planner pipeline stopped: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// On Kafka, an unknown investor, a malformed message and a template error
// each become a dead letter with the reason, and the events around them
// are planned: the flow goes on. The offsets are committed once the rows
// are written, and the same messages read again (a crash before the
// commit, here a second group) write nothing twice.
func TestKafkaPlannerDeadLettersAndGoesOn(t *testing.T) {
	pool, _ := testkit.PG(t)
	seed(t, pool)
	brokers := testkit.Kafka(t, 1, notifyjob.Topics()...)
	const topic = "transactions.completed"
	msgs := []kafkago.Message{
		{Key: []byte("1234567890"), Value: []byte(txEvent("tx-1", "INV1", "1234567890"))},   // offset 0: planned
		{Key: []byte("777"), Value: []byte(txEvent("tx-ghost", "GHOST", "777"))},            // 1: unknown investor
		{Key: []byte("x"), Value: []byte(`{"event_id": "tx-broken", "investor_id": `)},      // 2: not JSON
		{Key: []byte("3333333333"), Value: []byte(txEvent("tx-pan", "INV3", "3333333333"))}, // 3: template error
		{Key: []byte("1234567890"), Value: []byte(txEvent("tx-2", "INV1", "1234567890"))},   // 4: planned
		{Key: []byte("x"), Value: []byte(`{"event_id":"tx-short","investor_id":"INV1"}`)},   // 5: a field missing
	}
	w := &kafkago.Writer{Addr: kafkago.TCP(brokers...), Topic: topic, RequiredAcks: kafkago.RequireAll, BatchTimeout: 5 * time.Millisecond}
	if err := w.WriteMessages(testkit.Ctx(t), msgs...); err != nil {
		t.Fatal(err)
	}
	w.Close()

	p := notifyjob.Planner{PG: &postgres.Store{Pool: pool}, Planner: planner(t, pool), Brokers: brokers, Group: "g1"}
	// INV1 has no preferences: the default channel is email.
	// Six messages read and written: the next offset to read is 6.
	runKafka(t, p, topic, 6)
	rows, dead := planned(t, pool)
	if want := []string{"tx-1/email", "tx-2/email"}; fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Fatalf("notifications %q, want %q", rows, want)
	}
	wantDead := []string{
		"kafka:transactions.completed/0/2: malformed event",
		"tx-ghost: investor \"GHOST\": unknown investor",
		"tx-pan: template transactions.completed.",
		"tx-short: malformed event: folio: required",
	}
	sort.Strings(dead)
	if len(dead) != len(wantDead) {
		t.Fatalf("dead letters %q, want %q", dead, wantDead)
	}
	for i, w := range wantDead {
		if !strings.HasPrefix(dead[i], w) {
			t.Errorf("dead letter %q, want it to start %q", dead[i], w)
		}
	}
	if !strings.Contains(dead[2], "shows a PAN") {
		t.Errorf("template error %q does not say why", dead[2])
	}

	// The same messages again (as after a crash before the commit): nothing twice.
	p.Group = "g2"
	runKafka(t, p, topic, 6)
	rows2, dead2 := planned(t, pool)
	sort.Strings(dead2)
	if fmt.Sprint(rows2) != fmt.Sprint(rows) || fmt.Sprint(dead2) != fmt.Sprint(dead) {
		t.Fatalf("read again: %q %q, want %q %q", rows2, dead2, rows, dead)
	}
}

// failingPrefs is a preferences store that is down.
type failingPrefs struct{}

func (failingPrefs) Preference(context.Context, string, string) (*notify.Preference, error) {
	return nil, errors.New("preferences store down")
}

// A batch whose plans cannot be written (the preferences store is down,
// a failure worth retrying, not a dead letter) commits no offset and marks
// no outbox row: the next run plans it again.
func TestNothingCommittedBeforeThePlansAreWritten(t *testing.T) {
	pool, _ := testkit.PG(t)
	seed(t, pool)
	ctx := testkit.Ctx(t)
	if _, err := pool.Exec(ctx, `INSERT INTO outbox (event_id, topic, key, payload) VALUES ('tx-1', 'transactions.completed', 'k', $1)`,
		txEvent("tx-1", "INV1", "1234567890")); err != nil {
		t.Fatal(err)
	}
	down := planner(t, pool)
	down.Prefs = failingPrefs{}
	pg := &postgres.Store{Pool: pool}
	if _, err := (notifyjob.Planner{PG: pg, Planner: down}).Outbox(false).Run(ctx); err == nil || !strings.Contains(err.Error(), "preferences store down") {
		t.Fatalf("run with the preferences down: %v", err)
	}
	var unmarked int
	pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE notified_at IS NULL AND event_id = 'tx-1'`).Scan(&unmarked) //nolint:errcheck
	if rows, dead := planned(t, pool); unmarked != 1 || len(rows) != 0 || len(dead) != 0 {
		t.Fatalf("after the failed run: outbox row unmarked %d, rows %q, dead %q", unmarked, rows, dead)
	}
	// Back up: planned, marked, and a second pass reads nothing.
	st, err := (notifyjob.Planner{PG: pg, Planner: planner(t, pool)}).Outbox(false).Run(ctx)
	if err != nil || st.In != 1 {
		t.Fatalf("run: %+v %v", st, err)
	}
	pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE notified_at IS NULL`).Scan(&unmarked) //nolint:errcheck
	if rows, _ := planned(t, pool); unmarked != 0 || fmt.Sprint(rows) != "[tx-1/email]" {
		t.Fatalf("after the good run: unmarked %d, rows %q", unmarked, rows)
	}

	// Kafka: the same failure commits no offset.
	brokers := testkit.Kafka(t, 1, notifyjob.Topics()...)
	w := &kafkago.Writer{Addr: kafkago.TCP(brokers...), Topic: "transactions.completed", RequiredAcks: kafkago.RequireAll, BatchTimeout: 5 * time.Millisecond}
	if err := w.WriteMessages(ctx, kafkago.Message{Value: []byte(txEvent("tx-9", "INV1", "1234567890"))}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	ps, err := (notifyjob.Planner{PG: pg, Planner: down, Brokers: brokers, Group: "down"}).Kafka()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.Name != notifyjob.PlanName+"/transactions.completed" {
			p.Close()
			continue
		}
		if _, err := p.Run(ctx); err == nil || !strings.Contains(err.Error(), "preferences store down") {
			t.Fatalf("kafka run with the preferences down: %v", err)
		}
	}
	if off := committed(t, brokers, "down/transactions.completed", "transactions.completed"); off > 0 {
		t.Fatalf("committed offset %d after a failed batch, want none", off)
	}
}
