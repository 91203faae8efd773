package main

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	fraudgen "github.com/fundflow/fundflow/fraud/gen"
	"github.com/fundflow/fundflow/internal/testkit"
)

// A child `fundflow fraud run` evaluates a generated stream arriving on
// Kafka while it is killed with SIGKILL at random points, 20 times, and
// restarted. Its windows are in memory, snapshotted every 400 ms: a kill
// lands before or after a snapshot, and the next run replays from the
// last one (its Kafka offsets never pass it). In the end every planted
// alert is raised exactly once (one row, one fraud.alert.raised, one
// audit row each) and no other.
func TestFraudEvalCrashAndRestart(t *testing.T) {
	bin := fundflowBinary(t)
	topics := []string{"investors.changed", "orders.status", "payments.status"}
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, topics...), kfake.GroupMinSessionTimeout(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kc.Close)
	brokers := kc.ListenAddrs()
	ctx := testkit.Ctx(t)
	pool, ownerURL := testkit.PG(t)
	appURL := testkit.AppURL(t, ownerURL)
	cfgPath := filepath.Join(t.TempDir(), "fundflow.yaml")
	if err := os.WriteFile(cfgPath, []byte("services:\n  kafka_brokers_env: FUNDFLOW_FRAUDCRASH_KAFKA\nfraud:\n  batch_size: 20\n  session_timeout: 1s\n  snapshot_interval: 400ms\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := fraudgen.Generate(fraudgen.Options{Seed: 29, Investors: 80, Days: 40, Plant: 3})
	if err != nil {
		t.Fatal(err)
	}
	chURL := testkit.Env(t, "FUNDFLOW_CH_URL")
	var lastOut *bytes.Buffer
	start := func() *exec.Cmd {
		cmd, out := startChild(t, bin, []string{"FUNDFLOW_PG_URL=" + appURL, "FUNDFLOW_CH_URL=" + chURL, "FUNDFLOW_FRAUDCRASH_KAFKA=" + joinBrokers(brokers)},
			"--config", cfgPath, "--log-level", "warn", "fraud", "run")
		lastOut = out
		return cmd
	}
	writers := map[string]*kafkago.Writer{}
	for _, tp := range topics {
		writers[tp] = &kafkago.Writer{Addr: kafkago.TCP(brokers...), Topic: tp, Balancer: &kafkago.Hash{}, RequiredAcks: kafkago.RequireAll, BatchTimeout: time.Millisecond}
		defer writers[tp].Close()
	}
	send := func(ms []fraudgen.Message) {
		by := map[string][]kafkago.Message{}
		for _, m := range ms {
			by[m.Topic] = append(by[m.Topic], kafkago.Message{Key: []byte(m.Key), Value: m.Value})
		}
		for tp, km := range by {
			if err := writers[tp].WriteMessages(ctx, km...); err != nil {
				t.Fatal(err)
			}
		}
	}
	rng := rand.New(rand.NewPCG(19, 5))
	const kills = 20
	chunk := len(s.Messages)/kills + 1
	for k := range kills {
		cmd := start()
		lo := min(k*chunk, len(s.Messages))
		send(s.Messages[lo:min(lo+chunk, len(s.Messages))])
		time.Sleep(time.Duration(300+rng.IntN(900)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	}
	// the last run finishes the stream
	cmd := start()
	hw := map[[2]any]int64{}
	for _, tp := range topics {
		for _, m := range testkit.ReadTopic(t, brokers, tp) {
			k := [2]any{tp, m.Partition}
			hw[k] = max(hw[k], m.Offset)
		}
	}
	// A run that moves no position for 30 s has stalled: fail with its
	// log now rather than at the package timeout. (This was kfake keeping a
	// member that died mid-join; see third_party/kfake/PATCHED.md.)
	progress, lastMove := int64(-1), time.Now()
	for {
		done := true
		var sum int64
		for k, off := range hw {
			var got int64 = -1
			pool.QueryRow(ctx, `SELECT last_off FROM fraud_positions WHERE stream = $1 AND part = $2`, k[0], k[1]).Scan(&got) //nolint:errcheck
			done = done && got >= off
			sum += got
		}
		if done {
			break
		}
		if sum != progress {
			progress, lastMove = sum, time.Now()
		} else if time.Since(lastMove) > 30*time.Second {
			t.Fatalf("the last run stalled short of the stream's end:\n%s", lastOut)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("not all applied: %v\n%s", ctx.Err(), lastOut)
		case <-time.After(100 * time.Millisecond):
		}
	}
	_ = cmd.Process.Signal(os.Interrupt)
	_ = cmd.Wait()

	var want []string
	for _, tr := range s.Truth {
		want = append(want, tr.AlertID)
	}
	slices.Sort(want)
	rows, err := pool.Query(ctx, `SELECT a.id, (SELECT count(*) FROM outbox o WHERE o.event_id = 'fraud.alert.raised:' || a.id),
		(SELECT count(*) FROM audit_log l WHERE l.entity = 'fraud_alert' AND l.entity_id = a.id) FROM fraud_alerts a ORDER BY a.id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var id string
		var ob, au int
		if err := rows.Scan(&id, &ob, &au); err != nil {
			t.Fatal(err)
		}
		if ob != 1 || au != 1 {
			t.Errorf("alert %s: %d outbox events, %d audit rows; want 1 each", id, ob, au)
		}
		got = append(got, id)
	}
	// 3 plants x 6 patterns
	if !slices.Equal(got, want) || len(want) != 18 {
		t.Errorf("after %d kills: alerts %v\nwant %v", kills, got, want)
	}
	var outbox int
	pool.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE topic = 'fraud.alert.raised'`).Scan(&outbox) //nolint:errcheck
	if outbox != len(want) {
		t.Errorf("%d fraud.alert.raised events, want %d", outbox, len(want))
	}
}
