package kra_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fundflow/fundflow/internal/config"
	"github.com/fundflow/fundflow/internal/kragen"
	"github.com/fundflow/fundflow/internal/testkit"
	"github.com/fundflow/fundflow/investors"
	"github.com/fundflow/fundflow/jobs/kra"
	"github.com/fundflow/fundflow/pipelines"
	"github.com/fundflow/fundflow/sinks/postgres"
)

// The gate's decisions for a generated file match its truth: every
// investor's kyc restriction (reason, what it blocks, or none) is what the
// generator injected; every bad row is quarantined, every unknown PAN kept.
func TestGateMatchesTruth(t *testing.T) {
	e := newJobEnv(t)
	ctx, db, now, clock, sealer, led, store, svc, app := testkit.Ctx(t), e.db, e.now, e.clock, e.sealer, e.led, e.store, e.inv, e.app
	const n = 80
	var invs []kragen.Investor
	for i := 0; i < n; i++ {
		inv := kragen.Investor{ID: "G-" + kragen.PAN(i)[5:9], PAN: kragen.PAN(i)}
		if _, _, err := svc.Create(ctx, []byte(record(inv.ID, inv.PAN)), "onboarding", investors.ChannelAPI); err != nil {
			t.Fatal(err)
		}
		invs = append(invs, inv)
	}
	dir := t.TempDir()
	var status, aadhaar, truth bytes.Buffer
	sum, err := kragen.Write(&status, &aadhaar, &truth, invs, kragen.Options{Seed: 7, Hold: 0.2, Reject: 0.1, Inoperative: 0.1, Bad: 0.1, Unknown: 3, At: now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Held == 0 || sum.Rejected == 0 || sum.Inoperative == 0 || sum.Bad == 0 {
		t.Fatalf("the seed injects too little: %+v", sum)
	}
	for name, b := range map[string][]byte{"kra_status.txt": status.Bytes(), "pan_aadhaar.txt": aadhaar.Bytes()} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Parse("test.yaml", []byte("pipelines:\n  kra:\n    source: {kind: file, path: "+dir+", stable_for: 0s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	// Three concurrent shards (the default shards only batches of 1,000 or
	// more): the decisions must not depend on how the batch is split.
	gate := &investors.Gate{Store: store, Ledger: led, PII: sealer, Now: clock, Parallel: 3}
	j := kra.Job{Config: cfg.Pipelines.KRA, PG: &postgres.Store{Pool: app}, Gate: gate, Ledger: led,
		Metrics: pipelines.NewMetrics(prometheus.NewRegistry()), Log: testkit.Logger(t)}
	out, err := j.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if out.Quarantined != int64(sum.Bad) {
		t.Errorf("quarantined %d, injected %d bad rows", out.Quarantined, sum.Bad)
	}
	if got := db.Num(`SELECT count(*) FROM kyc_unmatched`); got != sum.Unknown {
		t.Errorf("unmatched %d, want %d", got, sum.Unknown)
	}
	want, err := kragen.ReadTruth(&truth)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := store.KYCRestrictions(ctx, func() []string {
		var ids []string
		for _, w := range want {
			ids = append(ids, w.InvestorID)
		}
		return ids
	}())
	if err != nil {
		t.Fatal(err)
	}
	mismatches := 0
	for _, w := range want {
		r, has := rs[w.InvestorID]
		if has != (w.Reason != "") || r.Reason != w.Reason || r.BlocksPurchase != w.BlocksPurchase || r.BlocksRedemption != w.BlocksRedemption ||
			r.BlocksNewFolio != w.BlocksNewFolio {
			mismatches++
			t.Errorf("%s (code %s, inoperative %v): restriction %+v, truth %+v", w.InvestorID, w.Code, w.Inoperative, r, w)
		}
	}
	t.Logf("%d investors: %d held, %d rejected, %d inoperative, %d bad rows, %d unknown; %d mismatches",
		n, sum.Held, sum.Rejected, sum.Inoperative, sum.Bad, sum.Unknown, mismatches)
}
