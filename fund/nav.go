package fund

import "github.com/shopspring/decimal"

// NAVScale is the number of decimals a NAV is stored with unless a scheme says
// otherwise. AMFI publishes NAVs with up to 4 (some 5 or more) decimals.
const NAVScale = 4

// NAVRecord is one published net asset value of one scheme on one date, with
// the scheme-master attributes that came with it in the feed.
type NAVRecord struct {
	SchemeCode   string          // AMFI scheme code, e.g. "119551"
	SchemeName   string          // as published
	ISINGrowth   string          // "ISIN Div Payout/ ISIN Growth"; empty when the feed has "-" or nothing
	ISINReinvest string          // "ISIN Div Reinvestment"; empty when absent
	Plan         string          // "Direct Plan", "Regular Plan"; only in the 2026 8-field layout
	Option       string          // "Growth", "IDCW-Re-investment"; only in the 2026 8-field layout
	Category     string          // text inside the block header "Open Ended Schemes(Debt Scheme - Banking and PSU Fund)"
	SchemeType   string          // text before the parenthesis: "Open Ended Schemes", "Close Ended Schemes", "Interval Fund Schemes"
	AMC          string          // the AMC line above the rows, e.g. "Aditya Birla Sun Life Mutual Fund"
	NAV          decimal.Decimal // exact as published, never rounded on the way in
	Repurchase   decimal.NullDecimal
	Sale         decimal.NullDecimal
	Date         Date
}

// Origin locates a record in its input so that an auditor (or a person fixing
// a quarantined row) can find it: a file and line, a topic/partition/offset,
// or a webhook event id. The engine's pipelines.Position has the same
// fields in the same order, so a record converts its Origin to the
// position it is quarantined at; keep the two alike.
type Origin struct {
	File   string // file name or URL; empty for streams
	SHA256 string // fingerprint of the file's bytes, hex
	Line   int    // 1-based line number in File
	Topic  string
	Part   int
	Offset int64
	Event  string // webhook event id
}

// NAVLine is a validated NAV together with the file and line it came from:
// the lineage every stored NAV keeps.
type NAVLine struct {
	NAVRecord
	From Origin
}

// DatedNAV is a NAV and the date it is for.
type DatedNAV struct {
	NAV  decimal.Decimal
	Date Date
}
