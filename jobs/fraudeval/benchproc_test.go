package fraudeval_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/fundflow/fundflow/fraud/gen"
	"github.com/fundflow/fundflow/internal/benchkit"
)

// BenchmarkFraudEval runs the Kafka broker and the producer of the stream
// as processes of their own (this test binary started again in a role):
// kfake keeps every message it is given, and the generator holds the
// whole stream to sort it, so in the benchmark's own process they made a
// 5,000,000-event run reach 21 GB and stall (session 33), and whatever the
// evaluation's memory did was hidden under theirs. The broker keeps its
// log on disk (kfake's DataDir: segment files, only a per-batch index in
// memory), so its memory does not grow with the stream either.

// roleEnv names the role a started copy of this binary plays.
const roleEnv = "FUNDFLOW_FRAUD_BENCH_ROLE"

func TestMain(m *testing.M) {
	switch os.Getenv(roleEnv) {
	case "":
		os.Exit(m.Run())
	case "broker":
		os.Exit(brokerMain())
	case "producer":
		os.Exit(producerMain())
	default:
		fmt.Fprintf(os.Stderr, "%s=%q: not a role (broker, producer)\n", roleEnv, os.Getenv(roleEnv))
		os.Exit(2)
	}
}

// brokerJob is what the broker role is told (JSON in the role's
// environment).
type brokerJob struct {
	Dir        string   `json:"dir"`
	Partitions int32    `json:"partitions"`
	Topics     []string `json:"topics"`
}

// brokerMain runs kfake with its log on disk, prints its address, and
// stops when its stdin closes (the benchmark ended or died).
func brokerMain() int {
	var j brokerJob
	if err := json.Unmarshal([]byte(os.Getenv(roleEnv+"_JOB")), &j); err != nil {
		fmt.Fprintln(os.Stderr, "broker job:", err)
		return 2
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(j.Partitions, j.Topics...),
		kfake.GroupMinSessionTimeout(100*time.Millisecond), kfake.DataDir(j.Dir))
	if err != nil {
		fmt.Fprintln(os.Stderr, "kfake:", err)
		return 1
	}
	fmt.Println(strings.Join(c.ListenAddrs(), ","))
	io.Copy(io.Discard, os.Stdin) //nolint:errcheck // EOF or an error: the parent is gone either way
	c.Close()
	return 0
}

// producerJob is what the producer role generates and produces.
type producerJob struct {
	Brokers []string    `json:"brokers"`
	Gen     gen.Options `json:"gen"`
	// Rate paces the produce at that many events a second (0: as fast as
	// the broker takes them).
	Rate  int    `json:"rate"`
	Truth string `json:"truth"` // the truth file to write (JSON lines)
}

// producerMain generates the stream, writes its truth, produces it (each
// message stamped with the time of its produce), prints "produced N" and
// exits.
func producerMain() int {
	var j producerJob
	if err := json.Unmarshal([]byte(os.Getenv(roleEnv+"_JOB")), &j); err != nil {
		fmt.Fprintln(os.Stderr, "producer job:", err)
		return 2
	}
	s, err := gen.Generate(j.Gen)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	f, err := os.Create(j.Truth)
	if err == nil {
		err = s.WriteTruth(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "truth:", err)
		return 1
	}
	ctx := context.Background()
	writers := map[string]*kafkago.Writer{}
	for _, m := range s.Messages {
		if writers[m.Topic] == nil {
			// acks from every replica: a message the broker dropped would
			// be an alert missing for a reason that is not the evaluation's
			writers[m.Topic] = &kafkago.Writer{Addr: kafkago.TCP(j.Brokers...), Topic: m.Topic, Balancer: &kafkago.Hash{}, BatchSize: 1000,
				BatchTimeout: 5 * time.Millisecond, RequiredAcks: kafkago.RequireAll}
		}
	}
	produce := func(ms []gen.Message) error {
		by := map[string][]kafkago.Message{}
		for _, m := range ms {
			by[m.Topic] = append(by[m.Topic], kafkago.Message{Key: []byte(m.Key), Value: m.Value, Time: time.Now()})
		}
		for tp, km := range by {
			for i := 0; i < len(km); i += 10000 {
				if err := writers[tp].WriteMessages(ctx, km[i:min(i+10000, len(km))]...); err != nil {
					return err
				}
			}
		}
		return nil
	}
	chunk := 10000
	if j.Rate > 0 {
		chunk = 250
	}
	t0 := time.Now()
	for i := 0; i < len(s.Messages); i += chunk {
		if j.Rate > 0 {
			if d := time.Until(t0.Add(time.Duration(float64(i) / float64(j.Rate) * float64(time.Second)))); d > 0 {
				time.Sleep(d)
			}
		}
		if err := produce(s.Messages[i:min(i+chunk, len(s.Messages))]); err != nil {
			fmt.Fprintln(os.Stderr, "produce:", err)
			return 1
		}
	}
	for _, w := range writers {
		if err := w.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "produce:", err)
			return 1
		}
	}
	fmt.Printf("produced %d\n", len(s.Messages))
	return 0
}

// child is a started role.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

// startRole starts this test binary again in role with job; the child is
// killed when this process dies (and its stdin closes).
func startRole(b *testing.B, role string, job any) *child {
	b.Helper()
	js, err := json.Marshal(job)
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), roleEnv+"="+role, roleEnv+"_JOB="+string(js))
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	return &child{cmd: cmd, stdin: in, out: bufio.NewReader(out)}
}

// line is the child's next line of output.
func (c *child) line() (string, error) {
	s, err := c.out.ReadString('\n')
	return strings.TrimSpace(s), err
}

// wait waits for the child to exit and returns its peak resident memory
// in MB (its rusage's maxrss).
func (c *child) wait() (float64, error) {
	c.stdin.Close()
	err := c.cmd.Wait()
	mb := 0.0
	if ru, ok := c.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		mb = float64(ru.Maxrss) / 1024
	}
	return mb, err
}

// broker is the Kafka broker process.
type broker struct {
	*child
	addrs []string
}

// startBroker starts kfake in a process of its own, its log in a
// temporary directory; the cleanup stops it.
func startBroker(b *testing.B, partitions int32, topics ...string) *broker {
	b.Helper()
	c := startRole(b, "broker", brokerJob{Dir: b.TempDir(), Partitions: partitions, Topics: topics})
	addr, err := c.line()
	if err != nil || addr == "" {
		c.cmd.Process.Kill() //nolint:errcheck
		b.Fatalf("broker process: no address (%v)", err)
	}
	br := &broker{child: c, addrs: strings.Split(addr, ",")}
	b.Cleanup(func() { br.wait() }) //nolint:errcheck // a second wait after stop is harmless
	return br
}

// produced is what a producer process did.
type produced struct {
	n       int
	truth   []gen.Truth
	took    time.Duration // generating and producing
	peakRSS float64       // MB
}

// startProducer starts a producer process; wait collects what it did.
func startProducer(b *testing.B, j producerJob) (wait func() produced) {
	b.Helper()
	j.Truth = fmt.Sprintf("%s/truth-%s-%d.jsonl", b.TempDir(), j.Gen.Tag, j.Gen.Seed)
	t0 := time.Now()
	c := startRole(b, "producer", j)
	return func() produced {
		b.Helper()
		last, _ := c.line()
		rss, err := c.wait()
		if err != nil {
			b.Fatalf("producer process: %v", err)
		}
		p := produced{took: time.Since(t0), peakRSS: rss}
		if p.n, err = strconv.Atoi(strings.TrimPrefix(last, "produced ")); err != nil {
			b.Fatalf("producer process said %q", last)
		}
		f, err := os.Open(j.Truth)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		dec := json.NewDecoder(f)
		for {
			var t gen.Truth
			if err := dec.Decode(&t); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
			p.truth = append(p.truth, t)
		}
		return p
	}
}

// lastOffsets is each partition's last offset (topic, partition -> offset
// of its last message; empty partitions left out), asked of the broker
// (testkit.ReadTopic would read every message into this process).
func lastOffsets(b *testing.B, brokers []string, topics []string) map[[2]any]int64 {
	b.Helper()
	ctx := context.Background()
	conn, err := kafkago.DialContext(ctx, "tcp", brokers[0])
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	hw := map[[2]any]int64{}
	for _, topic := range topics {
		parts, err := conn.ReadPartitions(topic)
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range parts {
			pc, err := kafkago.DialLeader(ctx, "tcp", net.JoinHostPort(p.Leader.Host, strconv.Itoa(p.Leader.Port)), topic, p.ID)
			if err != nil {
				b.Fatal(err)
			}
			last, err := pc.ReadLastOffset()
			pc.Close()
			if err != nil {
				b.Fatal(err)
			}
			if last > 0 {
				hw[[2]any{topic, p.ID}] = last - 1
			}
		}
	}
	return hw
}

// rssMB is a process's resident memory now (VmRSS) in MB; 0 when unknown.
func rssMB(pid int) float64 { return benchkit.ProcStatusMB(pid, "VmRSS") }

// loadAvg is the 1-minute load average.
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(data))[0]
}
