package pgstore_test

import (
	"fmt"
	"math/big"
	"math/rand"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/commissions"
	"github.com/fundflow/fundflow/commissions/pgstore"
	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/fund/commission"
	"github.com/fundflow/fundflow/internal/testkit"
)

// TestSetBasedAccrualMatchesTheRules checks the one-statement accrual
// against expectations computed here, row by row, with big.Rat and the rate
// rules written out in the test: a band rate by the holding's AUM (S1), a
// structure changed after the day (S2: the old one), one not yet in force
// (S3: 0), a direct plan whatever the table says (S4: 0), a scheme with no
// NAV yet (S6: counted, no row), a NAV carried over the weekend (every
// scheme's NAV is Friday's; Monday's is after the day), an ARN whose
// registration ended and one never registered (held), and a folio with no
// distributor (no row).
func TestSetBasedAccrualMatchesTheRules(t *testing.T) {
	ctx := testkit.Ctx(t)
	pool, _ := testkit.PG(t)
	st := pgstore.Store{Pool: pool}
	svc := &commissions.Service{Store: st, Log: testkit.Logger(t)}
	sunday := fund.NewDate(2026, 4, 5)
	rng := rand.New(rand.NewSource(18))

	f, err := commissions.ParseBrokerage("b.csv", strings.NewReader(commissions.BrokerageHeader+`
S0,regular,2026-01-01,1.00,,,,,
S1,regular,2026-01-01,1.00,0,,,,
S1,regular,2026-01-01,0.80,50000,,,,
S1,regular,2026-01-01,0.50,200000,,,,
S2,regular,2026-01-01,0.90,,,,,
S2,regular,2026-04-10,0.70,,,,,
S3,regular,2026-05-01,1.10,,,,,
S4,regular,2026-01-01,1.20,,,,,
S5,regular,2026-01-01,0.35,,,,,
S6,regular,2026-01-01,1.00,,,,,
`))
	if err != nil || len(f.Rejected) != 0 {
		t.Fatal(err, f.Rejected)
	}
	if _, err := st.PutBrokerage(ctx, f); err != nil {
		t.Fatal(err)
	}
	// rate is the rule, written out: S1's band by AUM, the rest flat or 0.
	rate := func(scheme string, aum *big.Rat) *big.Rat {
		switch scheme {
		case "S0", "S6":
			return big.NewRat(1, 1)
		case "S1":
			switch {
			case aum.Cmp(big.NewRat(200000, 1)) >= 0:
				return big.NewRat(50, 100)
			case aum.Cmp(big.NewRat(50000, 1)) >= 0:
				return big.NewRat(80, 100)
			}
			return big.NewRat(1, 1)
		case "S2":
			return big.NewRat(90, 100) // 0.70 only from 10-Apr
		case "S5":
			return big.NewRat(35, 100)
		}
		return new(big.Rat) // S3 not yet in force, S4 direct
	}
	parties := []commission.Party{{ID: "ARN-X", Kind: commission.ARNHolder, ValidFrom: fund.NewDate(2020, 1, 1), ValidTo: fund.NewDate(2026, 3, 31)}}
	for i := 0; i < 4; i++ {
		parties = append(parties, commission.Party{ID: fmt.Sprintf("ARN-%d", i), Kind: commission.ARNHolder, ValidFrom: fund.NewDate(2020, 1, 1)})
	}
	if err := st.PutHierarchy(ctx, parties, nil); err != nil {
		t.Fatal(err)
	}
	arnOf := []string{"ARN-0", "ARN-1", "ARN-2", "ARN-3", "ARN-X", "ARN-NONE", ""}
	setup := []string{
		`INSERT INTO investors (id) VALUES ('I')`,
		`INSERT INTO schemes (code, name, plan, amc, version, valid_from) VALUES
			('S0', 'S0', 'Regular', 'A', 1, '2020-01-01'), ('S4', 'S4 Direct', 'Direct Plan', 'A', 1, '2020-01-01'),
			('S5', 'S5', '', 'B', 1, '2020-01-01')`,
	}
	navs := map[string]*big.Rat{}
	for s := 0; s < 7; s++ {
		sc := fmt.Sprintf("S%d", s)
		if sc == "S6" {
			setup = append(setup, `INSERT INTO navs (scheme_code, nav_date, nav, source_id, source_line) VALUES ('S6', '2026-04-06', 10, nav_source('n', 'n'), 1)`)
			continue
		}
		nav := decimal.New(100000+rng.Int63n(900000), -4) // 10.0000..99.9999
		navs[sc] = nav.Rat()
		setup = append(setup, fmt.Sprintf(`INSERT INTO navs (scheme_code, nav_date, nav, source_id, source_line) VALUES
			('%[1]s', '2026-04-02', 99, nav_source('n', 'n'), 1), ('%[1]s', '2026-04-03', %[2]s, nav_source('n', 'n'), 2), ('%[1]s', '2026-04-06', 1, nav_source('n', 'n'), 3)`, sc, nav))
	}
	type want struct {
		bucket string
		pct    *big.Rat
		basis  *big.Rat
	}
	wants := map[string]want{}
	noNAV, held := 0, 0
	buckets := map[string]*big.Rat{}
	for i := 0; i < 300; i++ {
		folio := fmt.Sprintf("F%d", i)
		arn := arnOf[rng.Intn(len(arnOf))]
		a := "NULL"
		if arn != "" {
			a = "'" + arn + "'"
		}
		setup = append(setup, fmt.Sprintf(`INSERT INTO folios (folio_no, investor_id, arn) VALUES ('%s', 'I', %s)`, folio, a))
		for _, s := range rng.Perm(7)[:1+rng.Intn(3)] {
			sc := fmt.Sprintf("S%d", s)
			units := decimal.New(1+rng.Int63n(20_000_000), -3) // up to 20,000.000: S1 crosses both bands
			setup = append(setup, fmt.Sprintf(`INSERT INTO holdings (folio_no, scheme_code, units) VALUES ('%s', '%s', %s)`, folio, sc, units))
			if arn == "" {
				continue
			}
			if sc == "S6" {
				noNAV++
				continue
			}
			aum := new(big.Rat).Mul(units.Rat(), navs[sc])
			p := rate(sc, aum)
			bucket := arn
			if arn == "ARN-X" || arn == "ARN-NONE" {
				bucket = "held:" + arn
				held++
			}
			basis := new(big.Rat).Mul(aum, p)
			wants[folio+"/"+sc] = want{bucket, p, basis}
			if buckets[bucket] == nil {
				buckets[bucket] = new(big.Rat)
			}
			buckets[bucket].Add(buckets[bucket], basis)
		}
	}
	for _, q := range setup {
		if _, err := pool.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	res, err := svc.AccrueDay(ctx, sunday)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != len(wants) || res.NoNAV != noNAV || res.Held != held {
		t.Errorf("rows %d, no NAV %d, held %d; want %d, %d, %d", res.Rows, res.NoNAV, res.Held, len(wants), noNAV, held)
	}
	rows, err := pool.Query(ctx, `SELECT folio_no || '/' || scheme_code, bucket, trail_pct, basis, nav_date, aum = units * nav FROM trail_accruals WHERE day = $1`, sunday.Time())
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for rows.Next() {
		var key, bucket string
		var pct, basis decimal.Decimal
		var navDate = sunday.Time()
		var exact bool
		if err := rows.Scan(&key, &bucket, &pct, &basis, &navDate, &exact); err != nil {
			t.Fatal(err)
		}
		seen++
		w, ok := wants[key]
		switch {
		case !ok:
			t.Errorf("%s: a row; want none", key)
		case bucket != w.bucket || pct.Rat().Cmp(w.pct) != 0 || basis.Rat().Cmp(w.basis) != 0:
			t.Errorf("%s: bucket %s, rate %s, basis %s; want %s, %s, %s", key, bucket, pct, basis, w.bucket, w.pct.FloatString(4), w.basis.FloatString(12))
		case fund.DateOf(navDate) != fund.NewDate(2026, 4, 3) || !exact:
			t.Errorf("%s: NAV of %s (aum exact %v); want Friday 3-Apr's carried", key, fund.DateOf(navDate), exact)
		}
	}
	rows.Close()
	if seen != len(wants) {
		t.Errorf("%d rows; want %d", seen, len(wants))
	}
	// Each bucket posts its day rounded once, half-up: Σ basis / 36,500.
	for b, sum := range buckets {
		q := new(big.Rat).Quo(sum, big.NewRat(36500, 1))
		wantAmt := halfUpPaise(q)
		var got decimal.Decimal
		if err := pool.QueryRow(ctx, `SELECT amount FROM commission_journal WHERE key = $1`, "trail:"+sunday.String()+":"+b).Scan(&got); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !got.Equal(decimal.RequireFromString(wantAmt)) {
			t.Errorf("%s posted %s; want %s", b, got, wantAmt)
		}
	}
}

// halfUpPaise rounds a non-negative rational to the paisa, half up, by
// integer arithmetic: floor(q × 100 + 1/2) / 100.
func halfUpPaise(q *big.Rat) string {
	x := new(big.Rat).Add(new(big.Rat).Mul(q, big.NewRat(100, 1)), big.NewRat(1, 2))
	n := new(big.Int).Quo(x.Num(), x.Denom())
	return decimal.NewFromBigInt(n, -2).StringFixed(2)
}
