package fund

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// The registrar and transfer agents (RTAs) that keep the official register
// of units of Indian mutual funds. Each AMC appoints one of them.
const (
	RTACAMS     = "CAMS"
	RTAKFintech = "KFINTECH"
)

// RTAHolding is one folio's balance in one scheme as the RTA's holdings
// (AUM) mailback reports it: CAMS WBR22 or KFintech MFSD203.
type RTAHolding struct {
	RTA        string // RTACAMS or RTAKFintech
	Folio      string // the folio number as the RTA writes it
	Product    string // the RTA's scheme (product) code, e.g. CAMS "PRODUCT", KFintech "PRCODE"
	ISIN       string // when the layout carries it (KFintech SCHEMEISIN)
	SchemeName string
	AsOf       Date            // the balance date (CAMS ASSET_DATE, KFintech TODATE/TRDATE)
	Units      Units           // the unit balance, exact as written (at least DefaultUnitsScale decimals)
	NAV        decimal.Decimal // the NAV the file values the balance at; zero when absent
	Value      decimal.Decimal // the market value the file reports (CAMS CLOSING_AS, KFintech VALINV); zero when absent
	Investor   string          // first holder's name
	PAN        string
	Broker     string // ARN of the distributor
}

// RTATransaction is one transaction as the RTA's transaction mailback
// reports it: CAMS WBR2 or KFintech MFSD201.
type RTATransaction struct {
	RTA        string
	Folio      string
	Product    string // the RTA's scheme code
	ISIN       string
	SchemeName string
	Investor   string // first holder's name
	TxnNo      string // the RTA's own transaction number (CAMS TRXNNO, KFintech TD_TRNO)
	UserRef    string // the distributor's reference the order was placed with: our order id (CAMS USRTRXNO, KFintech UNQNO)
	TypeCode   string // the RTA's transaction type code as written, e.g. "P", "SIN", "LTOF"
	Kind       TxKind
	TradeDate  Date
	NAVDate    Date            // the date of the NAV applied (CAMS: the trade date; KFintech NAVDATE)
	PostDate   Date            // when the RTA posted it; zero when absent
	NAV        decimal.Decimal // the price applied (CAMS PURPRICE, KFintech TD_NAV)
	Units      Units           // signed: positive for an issue of units, negative for a redemption
	Amount     Amount          // the gross amount, positive
	StampDuty  Amount          // zero when absent
	Status     string          // the RTA's status text, as written
	Reported   Date            // the report date of the file (CAMS REP_DATE, KFintech CRDATE); zero when absent
	SIPRegNo   string          // a SIP instalment's registration (CAMS SIPTRXNNO; ours: the plan id); "" otherwise
}

// ParseRTADate parses the date forms the RTAs write: DD-Mon-YYYY
// (21-Aug-2026, any letter case) and DD/MM/YYYY (21/08/2026).
func ParseRTADate(s string) (Date, error) {
	if len(s) == 10 && s[2] == '/' && s[5] == '/' {
		t, err := time.Parse("02/01/2006", s)
		if err != nil {
			return Date{}, fmt.Errorf("date %q: want DD-Mon-YYYY or DD/MM/YYYY", s)
		}
		return DateOf(t), nil
	}
	d, err := ParseDMY(s)
	if err != nil {
		return Date{}, fmt.Errorf("date %q: want DD-Mon-YYYY or DD/MM/YYYY", s)
	}
	return d, nil
}

// ParseDecimal parses a plain decimal numeral exactly as written: an
// optional sign, digits and at most one point ("1234.50", "-3", ".4157").
// Exponents, spaces and thousands separators are refused.
func ParseDecimal(s string) (decimal.Decimal, error) { return parseDecimal(s) }

// UnitsAsWritten returns d as Units at the scale it was written with, but at
// least DefaultUnitsScale: an RTA balance of "12.5" is 12.500 units and
// "1.23456" keeps its five decimals. Non-zero digits beyond MaxUnitsScale
// are an error (wrapping ErrTooManyDecimals), never rounded.
func UnitsAsWritten(d decimal.Decimal) (Units, error) {
	scale := min(max(int32(DefaultUnitsScale), -d.Exponent()), MaxUnitsScale)
	return UnitsFromDecimal(d, scale, NoRounding)
}

// RTALine is one good record of an RTA feed, a holding or a transaction
// (IsTxn), with the layout and the file position it was read from: what
// the reconciliation stages and keeps as the RTA's side.
type RTALine struct {
	Layout  string // e.g. "cams-wbr22"
	IsTxn   bool
	Holding RTAHolding
	Txn     RTATransaction
	From    Origin
}
