package amfi

import (
	"strings"
	"testing"

	"github.com/fundflow/fundflow/fund"
)

// The historical NAV report (DownloadNAVHistoryReport_Po.aspx) was not
// copied into the fixtures; these inputs are built from the quirks
// PROVENANCE.md lists for it: spaces inside the block header's parentheses,
// two empty lines after it, the AMC line directly followed by rows, a
// missing ISIN as an empty field (not "-"), empty repurchase/sale prices,
// and unclaimed-IDCW plans with no ISIN and no plan/option (";;;;;1000.0000;").

func TestHistoryOldLayout(t *testing.T) {
	in := strings.Join([]string{
		"Scheme Code;Scheme Name;ISIN Div Payout/ISIN Growth;ISIN Div Reinvestment;Net Asset Value;Repurchase Price;Sale Price;Date",
		"",
		"Open Ended Schemes ( Debt Scheme - Overnight Fund )",
		"",
		"",
		"Aditya Birla Sun Life Mutual Fund",
		"145488;ADITYA BIRLA SUN LIFE OVERNIGHT FUND-  Direct - Monthly Payout of IDCW;INF209KB1ZL4;;1003.0134;;;03-Jan-2026",
		"145489;ADITYA BIRLA SUN LIFE OVERNIGHT FUND-  Direct - Weekly Reinvestment of IDCW;;INF209KB1ZJ8;1000.3038;1000.3038;1001.1;03-Jan-2026",
		"149412;BANK OF INDIA Overnight Fund Unclaimed IDCW Plan - Greater than 3 Years;;;1000.0000;;;03-Jan-2026",
		"149413;Some Fund;;;N.A.;;;03-Jan-2026",
		"",
		"Bandhan Mutual Fund",
		"146190;BANDHAN Overnight Fund - Direct Plan - Daily IDCW;INF194KB1462;INF194KB1470;1000.0098;0;N.A.;03-Jan-2026",
		"",
	}, "\n")
	p, rows := parseAll(t, []byte(in))
	if p.Layout() != LayoutHistory || p.Layout() != "amfi-history" {
		t.Fatalf("layout %q", p.Layout())
	}
	type want struct {
		line           int
		code, name     string
		isinG, isinR   string
		nav, rep, sale string // "" = null
		amc, reason    string
	}
	wants := []want{
		{7, "145488", "ADITYA BIRLA SUN LIFE OVERNIGHT FUND-  Direct - Monthly Payout of IDCW", "INF209KB1ZL4", "", "1003.0134", "", "", "Aditya Birla Sun Life Mutual Fund", ""},
		{8, "145489", "ADITYA BIRLA SUN LIFE OVERNIGHT FUND-  Direct - Weekly Reinvestment of IDCW", "", "INF209KB1ZJ8", "1000.3038", "1000.3038", "1001.1", "Aditya Birla Sun Life Mutual Fund", ""},
		{9, "149412", "BANK OF INDIA Overnight Fund Unclaimed IDCW Plan - Greater than 3 Years", "", "", "1000", "", "", "Aditya Birla Sun Life Mutual Fund", ""},
		{10, "149413", "Some Fund", "", "", "", "", "", "Aditya Birla Sun Life Mutual Fund", ReasonNAVNotAvailable},
		{13, "146190", "BANDHAN Overnight Fund - Direct Plan - Daily IDCW", "INF194KB1462", "INF194KB1470", "1000.0098", "", "", "Bandhan Mutual Fund", ""},
	}
	if len(rows) != len(wants) {
		t.Fatalf("%d rows, want %d", len(rows), len(wants))
	}
	for i, w := range wants {
		r := rows[i]
		rec := r.Record
		nav := ""
		if r.Reason == "" {
			nav = rec.NAV.String()
		}
		rep, sale := "", ""
		if rec.Repurchase.Valid {
			rep = rec.Repurchase.Decimal.String()
		}
		if rec.Sale.Valid {
			sale = rec.Sale.Decimal.String()
		}
		if r.Line != w.line || rec.SchemeCode != w.code || rec.SchemeName != w.name || rec.ISINGrowth != w.isinG ||
			rec.ISINReinvest != w.isinR || nav != w.nav || rep != w.rep || sale != w.sale || rec.AMC != w.amc ||
			r.Reason != w.reason || rec.SchemeType != "Open Ended Schemes" || rec.Category != "Debt Scheme - Overnight Fund" ||
			rec.Plan != "" || rec.Option != "" {
			t.Errorf("row %d:\n got line %d %+v reason %q\nwant %+v", i, r.Line, rec, r.Reason, w)
		}
		if r.Reason == "" && rec.Date != fund.NewDate(2026, 1, 3) {
			t.Errorf("row %d date %v", i, rec.Date)
		}
	}
}

func TestHistoryPlanOptionLayout(t *testing.T) {
	in := strings.Join([]string{
		"Scheme Code;NAV Name;Plan;Option;ISIN Div Payout/ISIN Growth;ISIN Div Reinvestment;Net Asset Value;Date",
		"",
		"Open Ended Schemes ( Debt Scheme - Overnight Fund )",
		"",
		"",
		"Bank of India Mutual Fund",
		"147951;BANK OF INDIA Overnight Fund Direct Plan Growth;Direct Plan;Growth;INF761K01EU7;;1403.5721;20-Sep-2026",
		"147952;BANK OF INDIA Overnight Fund Direct Plan- Daily IDCW;Direct Plan;Daily IDCW;;INF761K01EV5;1000.0000;20-Sep-2026",
		"149412;BANK OF INDIA Overnight Fund Unclaimed IDCW Plan - Greater than 3 Years;;;;;1000.0000;20-Sep-2026",
		"149471;Mahindra Manulife Overnight Fund - Unclaimed Redemption/IDCW beyond 3 years;;Unclaimed Redemption/IDCW beyond 3 years;;;1000.0000;20-Sep-2026",
		"",
		"Open Ended Schemes ( Debt Scheme - Liquid Fund )",
		"",
		"",
		"DSP Mutual Fund",
		"149313;Unclaimed IDCW - Beyond 3 years (Invested in DSP Liquidity Fund);;;;;10.;20-Sep-2026",
	}, "\r\n") + "\r\n"
	p, rows := parseAll(t, []byte(in))
	if p.Layout() != LayoutHistoryPlanOpt || p.Layout() != "amfi-history" || p.kind != kindHistoryPlanOpt {
		t.Fatalf("layout %q kind %d", p.Layout(), p.kind)
	}
	type want struct {
		line              int
		code, name        string
		plan, option      string
		isinG, isinR, nav string
		amc, category     string
	}
	wants := []want{
		{7, "147951", "BANK OF INDIA Overnight Fund Direct Plan Growth", "Direct Plan", "Growth", "INF761K01EU7", "", "1403.5721", "Bank of India Mutual Fund", "Debt Scheme - Overnight Fund"},
		{8, "147952", "BANK OF INDIA Overnight Fund Direct Plan- Daily IDCW", "Direct Plan", "Daily IDCW", "", "INF761K01EV5", "1000", "Bank of India Mutual Fund", "Debt Scheme - Overnight Fund"},
		{9, "149412", "BANK OF INDIA Overnight Fund Unclaimed IDCW Plan - Greater than 3 Years", "", "", "", "", "1000", "Bank of India Mutual Fund", "Debt Scheme - Overnight Fund"},
		{10, "149471", "Mahindra Manulife Overnight Fund - Unclaimed Redemption/IDCW beyond 3 years", "", "Unclaimed Redemption/IDCW beyond 3 years", "", "", "1000", "Bank of India Mutual Fund", "Debt Scheme - Overnight Fund"},
		{16, "149313", "Unclaimed IDCW - Beyond 3 years (Invested in DSP Liquidity Fund)", "", "", "", "", "10", "DSP Mutual Fund", "Debt Scheme - Liquid Fund"},
	}
	if len(rows) != len(wants) {
		t.Fatalf("%d rows, want %d", len(rows), len(wants))
	}
	for i, w := range wants {
		r := rows[i]
		rec := r.Record
		if r.Reason != "" || r.Line != w.line || rec.SchemeCode != w.code || rec.SchemeName != w.name || rec.Plan != w.plan ||
			rec.Option != w.option || rec.ISINGrowth != w.isinG || rec.ISINReinvest != w.isinR || rec.NAV.String() != w.nav ||
			rec.AMC != w.amc || rec.Category != w.category || rec.SchemeType != "Open Ended Schemes" ||
			rec.Date != fund.NewDate(2026, 9, 20) || rec.Repurchase.Valid || rec.Sale.Valid {
			t.Errorf("row %d:\n got line %d %+v reason %q %q\nwant %+v", i, r.Line, rec, r.Reason, r.Detail, w)
		}
	}
	rep := mustCheck(t, []byte(in))
	if rep.Layout != "amfi-history" || rep.Rows != 5 || rep.Quarantined != 0 || rep.Schemes != 5 || rep.AMCs != 2 ||
		rep.Categories != 2 || rep.BusinessDate != "2026-09-20" {
		t.Errorf("report %+v", rep)
	}
}

// The two history layouts share a name with the NAVAll ones' columns but not
// their order: the name-before-ISIN order is what tells them apart.
func TestHistoryVersusNAVAllColumnOrder(t *testing.T) {
	navall := "Scheme Code;ISIN Div Payout/ ISIN Growth;ISIN Div Reinvestment;Scheme Name;Net Asset Value;Repurchase Price;Sale Price;Date\n" +
		"100;INF000000001;-;Fund;10.5;10.4;10.6;13-Apr-2017\n"
	history := "Scheme Code;Scheme Name;ISIN Div Payout/ISIN Growth;ISIN Div Reinvestment;Net Asset Value;Repurchase Price;Sale Price;Date\n" +
		"100;Fund;INF000000001;;10.5;10.4;10.6;13-Apr-2017\n"
	for _, tc := range []struct {
		in   string
		want Layout
	}{{navall, LayoutNAVAll8RepSale}, {history, LayoutHistory}} {
		p, rows := parseAll(t, []byte(tc.in))
		r := rows[0].Record
		if p.Layout() != tc.want || r.SchemeName != "Fund" || r.ISINGrowth != "INF000000001" || r.ISINReinvest != "" ||
			r.NAV.String() != "10.5" || r.Repurchase.Decimal.String() != "10.4" || r.Sale.Decimal.String() != "10.6" {
			t.Errorf("%s: layout %q record %+v", tc.want, p.Layout(), r)
		}
	}
}
