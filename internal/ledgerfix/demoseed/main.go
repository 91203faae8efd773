// Command demoseed gives `make demo` a small ledger on the real NAVs it
// loaded: two investors (one resident in India, one in the US, PAN and bank
// account sealed with $FUNDFLOW_PII_KEY), three folios, SIP-like purchases
// and a redemption in real schemes on the dates of the demo's NAV files.
// It does nothing when the database already has ledger transactions (the
// money path's own demo made them).
//
//	go run ./internal/ledgerfix/demoseed   # FUNDFLOW_PG_URL, FUNDFLOW_PII_KEY from the environment
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/ledgerfix"
	"github.com/fundflow/fundflow/internal/pii"
	"github.com/fundflow/fundflow/sinks/postgres"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demoseed:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool, err := postgres.Connect(ctx, os.Getenv("FUNDFLOW_PG_URL"))
	if err != nil {
		return err
	}
	defer pool.Close()
	var n int64
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM ledger_transactions`).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		fmt.Printf("the ledger already has %d transactions: nothing to add\n", n)
		return nil
	}
	sealer, err := pii.FromEnv(os.Getenv, pii.KeyEnv)
	if err != nil {
		return err
	}
	// The dates every NAV file of the demo covers, oldest first, and three
	// schemes with a NAV on each of them.
	rows, err := pool.Query(ctx, `SELECT nav_date FROM navs GROUP BY nav_date HAVING count(*) > 1000 ORDER BY nav_date`)
	if err != nil {
		return err
	}
	var dates []fund.Date
	for rows.Next() {
		var d time.Time
		if err := rows.Scan(&d); err != nil {
			return err
		}
		dates = append(dates, fund.DateOf(d))
	}
	rows.Close()
	if len(dates) < 3 {
		return fmt.Errorf("need NAVs of at least 3 file dates, found %d: run nav-ingest first", len(dates))
	}
	var times []time.Time
	for _, d := range dates {
		times = append(times, d.Time())
	}
	// Equity, direct plan, growth option: the 2026 layout has plan and
	// option in columns of their own, older names carry them in the name.
	var schemes []string
	rows, err = pool.Query(ctx, `SELECT n.scheme_code FROM navs n JOIN schemes s ON s.code = n.scheme_code
		WHERE n.nav_date = ANY($1)
		GROUP BY n.scheme_code, s.category, s.name, s.plan, s.option HAVING count(*) = $2
		ORDER BY (s.category ILIKE '%equity%') DESC, (s.name || s.plan ILIKE '%direct%') DESC,
		         (s.name || s.option ILIKE '%growth%') DESC, n.scheme_code LIMIT 3`, times, len(dates))
	if err != nil {
		return err
	}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return err
		}
		schemes = append(schemes, c)
	}
	rows.Close()
	if len(schemes) < 3 {
		return fmt.Errorf("found %d schemes with a NAV on every file date, need 3", len(schemes))
	}
	spec := ledgerfix.Spec{Sealer: sealer, Investors: []ledgerfix.Investor{
		{ID: "DEMO-1", Name: "Asha Rao", Email: "asha@example.com", Address: "12 MG Road, Bengaluru 560001", TaxCountry: "IN",
			PAN: "ABCDE1234F", BankAccount: "123456789012", Folios: []string{"DF-1", "DF-2"}},
		{ID: "DEMO-2", Name: "Ben Cole", Address: "1 Main St, Springfield, IL", TaxCountry: "US",
			PAN: "PQRSX9876Z", BankAccount: "987654321098", Folios: []string{"DF-3"}},
	}}
	last := len(dates) - 1
	for i, d := range dates[:last] {
		spec.Txs = append(spec.Txs,
			ledgerfix.Tx{Folio: "DF-1", Scheme: schemes[0], Kind: "purchase", Date: d, Amount: "5000.00"},
			ledgerfix.Tx{Folio: "DF-1", Scheme: schemes[1], Kind: "purchase", Date: d, Amount: fmt.Sprintf("%d.00", 2000+500*i)})
	}
	spec.Txs = append(spec.Txs,
		ledgerfix.Tx{Folio: "DF-2", Scheme: schemes[2], Kind: "purchase", Date: dates[0], Amount: "25000.00"},
		ledgerfix.Tx{Folio: "DF-3", Scheme: schemes[1], Kind: "purchase", Date: dates[1], Amount: "100000.00"},
		ledgerfix.Tx{Folio: "DF-1", Scheme: schemes[0], Kind: "redemption", Date: dates[last], Units: "10.000"},
	)
	w, err := ledgerfix.Load(ctx, pool, spec)
	if err != nil {
		return err
	}
	fmt.Printf("demo ledger: %d transactions in folios DF-1, DF-2 (investor DEMO-1) and DF-3 (DEMO-2), schemes %v, %s..%s\n",
		len(w.TxIDs), schemes, dates[0], dates[last])
	return nil
}
