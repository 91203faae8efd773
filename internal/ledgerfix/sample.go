package ledgerfix

import (
	"time"

	"github.com/fundflow/fundflow/fund"
	"github.com/fundflow/fundflow/internal/pii"
)

// D is a date in 2024 (tests' shorthand).
func D(m time.Month, d int) fund.Date { return fund.NewDate(2024, m, d) }

// Sample is the read side's test ledger. Its expected numbers are worked
// out by hand in the tests that use it (stamp duty = gross × 5 / 100005,
// half up; units = (gross − duty) / NAV, down to 3 decimals):
//
//	INV-1, folio F-1:
//	  purchase   100001 2024-01-10 NAV 10.0000  10000.00 → duty 0.50, 999.950 units
//	  purchase   100002 2024-02-01 NAV 50.0000   2000.00 → duty 0.10,  39.998 units
//	  purchase   100001 2024-03-11 NAV 12.5000   5000.00 → duty 0.25, 399.980 units
//	  redemption 100001 2024-06-10 NAV 11.0000   500.000 units → 5500.00 (FIFO: from the first lot)
//	INV-1, folio F-2 (a second folio of the same investor): nothing
//	INV-2, folio G-1:
//	  purchase   100002 2024-12-31 NAV 55.0000   1000.00 → duty 0.05,  18.180 units
//	Latest NAVs (2024-12-31): 100001 15.0000, 100002 55.0000.
func Sample(sealer *pii.Sealer) Spec {
	return Spec{
		Sealer: sealer,
		Investors: []Investor{
			{ID: "INV-1", Name: "Asha Rao", Email: "asha@example.com", Address: "12 MG Road, Bengaluru 560001", TaxCountry: "IN",
				PAN: "ABCDE1234F", BankAccount: "123456789012", Folios: []string{"F-1", "F-2"}},
			{ID: "INV-2", Name: "Ben Cole", Address: "1 Main St, Springfield", TaxCountry: "US",
				PAN: "PQRSX9876Z", BankAccount: "987654321098", Folios: []string{"G-1"}},
		},
		Schemes: []Scheme{
			{Code: "100001", Name: "Alpha Flexi Cap Fund - Direct Growth", AMC: "Alpha MF", Category: "Equity Scheme - Flexi Cap Fund",
				NAVs: map[fund.Date]string{D(1, 10): "10.0000", D(3, 11): "12.5000", D(6, 10): "11.0000", D(12, 31): "15.0000"}},
			{Code: "100002", Name: "Beta Liquid Fund - Direct Growth", AMC: "Beta MF", Category: "Debt Scheme - Liquid Fund",
				NAVs: map[fund.Date]string{D(2, 1): "50.0000", D(12, 31): "55.0000"}},
		},
		Txs: []Tx{
			{Folio: "F-1", Scheme: "100001", Kind: "purchase", Date: D(1, 10), Amount: "10000.00"},
			{Folio: "F-1", Scheme: "100002", Kind: "purchase", Date: D(2, 1), Amount: "2000.00"},
			{Folio: "F-1", Scheme: "100001", Kind: "purchase", Date: D(3, 11), Amount: "5000.00"},
			{Folio: "F-1", Scheme: "100001", Kind: "redemption", Date: D(6, 10), Units: "500.000"},
			{Folio: "G-1", Scheme: "100002", Kind: "purchase", Date: D(12, 31), Amount: "1000.00"},
		},
	}
}
