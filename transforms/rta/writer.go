package rta

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/fundflow/fundflow/fund"
)

// Writer writes a feed in one layout: the header, then one line per record,
// with the layout's full column list (columns we have no value for are left
// empty, as RTAs leave them). CAMS files are written with DD-Mon-YYYY dates,
// KFintech files with DD/MM/YYYY, so both forms are exercised.
type Writer struct {
	bw     *bufio.Writer
	layout *Layout
	delim  byte
	at     map[string]int
	row    []string
	crlf   bool
	n      int
}

// NewWriter starts a feed of layout l on w with delimiter delim (',' or
// '|'). crlf ends lines with CR LF as Windows-made files do.
func NewWriter(w io.Writer, l *Layout, delim byte, crlf bool) (*Writer, error) {
	if delim != ',' && delim != '|' {
		return nil, fmt.Errorf("rta: delimiter %q: want ',' or '|'", delim)
	}
	wr := &Writer{bw: bufio.NewWriterSize(w, 256<<10), layout: l, delim: delim, at: map[string]int{}, row: make([]string, len(l.Columns)), crlf: crlf}
	for i, c := range l.Columns {
		wr.at[c] = i
	}
	copy(wr.row, l.Columns)
	return wr, wr.flushRow()
}

// Lines returns the number of lines written, the header included.
func (w *Writer) Lines() int { return w.n }

func (w *Writer) set(col, v string) {
	if i, ok := w.at[col]; ok {
		w.row[i] = v
	}
}

func (w *Writer) date(d fund.Date) string {
	if d.IsZero() {
		return ""
	}
	if w.layout.RTA == fund.RTAKFintech {
		return d.Time().Format("02/01/2006")
	}
	return strings.ToUpper(d.DMY())
}

func (w *Writer) flushRow() error {
	for i, v := range w.row {
		if i > 0 {
			w.bw.WriteByte(w.delim)
		}
		if strings.ContainsAny(v, "\"\r\n") || strings.IndexByte(v, w.delim) >= 0 || strings.TrimSpace(v) != v {
			w.bw.WriteByte('"')
			w.bw.WriteString(strings.ReplaceAll(v, `"`, `""`))
			w.bw.WriteByte('"')
		} else {
			w.bw.WriteString(v)
		}
		w.row[i] = ""
	}
	if w.crlf {
		w.bw.WriteByte('\r')
	}
	w.n++
	return w.bw.WriteByte('\n')
}

// Holding writes one holdings line. The layout must be a Holdings layout.
func (w *Writer) Holding(h fund.RTAHolding) error {
	if w.layout.Kind != Holdings {
		return fmt.Errorf("rta: a holding written to a %s feed", w.layout.Name)
	}
	nav, value := "", ""
	if !h.NAV.IsZero() {
		nav = fixed(h.NAV, fund.NAVScale)
	}
	if !h.Value.IsZero() || nav != "" {
		value = fixed(h.Value, fund.AmountScale)
	}
	switch w.layout {
	case CAMSWBR22:
		w.set("BROK_DLR_C", h.Broker)
		w.set("PRODUCT", h.Product)
		w.set("ASSET_DATE", w.date(h.AsOf))
		w.set("FOLIO", h.Folio)
		w.set("INV_NAME", h.Investor)
		w.set("SCHEME_NAM", h.SchemeName)
		w.set("CLOSING_AS", value)
		w.set("TAX_STATUS", "Individual")
		w.set("UNITS", h.Units.String())
		w.set("NAV", nav)
	case KFinMFSD203:
		w.set("PRCODE", h.Product)
		w.set("FUND", amcCode(h.Product))
		w.set("ACNO", h.Folio)
		w.set("FUNDDESC", h.SchemeName)
		w.set("BALUNITS", h.Units.String())
		w.set("PLDG", "0.000")
		w.set("MOH", "SI")
		w.set("BROKCODE", h.Broker)
		w.set("INV_NAME", h.Investor)
		w.set("VALINV", value)
		w.set("LNAV", nav)
		w.set("CRDATE", w.date(h.AsOf))
		w.set("CRTIME", "21:30:00")
		w.set("PAN", h.PAN)
		w.set("SCHEMEISIN", h.ISIN)
		w.set("TODATE", w.date(h.AsOf))
	default:
		return fmt.Errorf("rta: no holdings writer for %s", w.layout.Name)
	}
	return w.flushRow()
}

// Txn writes one transaction line. The layout must be a Transactions layout;
// t.TypeCode, when empty, is the layout's code for t.Kind (SIN for a SIP
// instalment in both layouts). t.SIPRegNo goes where the layout has a column
// for it: CAMS SIPTRXNNO; our MFSD201 column list has none.
func (w *Writer) Txn(t fund.RTATransaction) error {
	if w.layout.Kind != Transactions {
		return fmt.Errorf("rta: a transaction written to a %s feed", w.layout.Name)
	}
	code := t.TypeCode
	if code == "" {
		if code = w.layout.TypeCode(t.Kind); code == "" {
			return fmt.Errorf("rta: %s has no code for %v", w.layout.Name, t.Kind)
		}
	}
	units, amount := t.Units, t.Amount
	if units.Sign() < 0 {
		units = units.Neg()
	}
	nav := ""
	if !t.NAV.IsZero() {
		nav = fixed(t.NAV, fund.NAVScale)
	}
	switch w.layout {
	case CAMSWBR2:
		if t.Kind.Valid() && !t.Kind.IssuesUnits() {
			// CAMS writes redemptions and switch-outs negative.
			units, amount = units.Neg(), amount.Neg()
		}
		w.set("AMC_CODE", amcCode(t.Product))
		w.set("FOLIO_NO", t.Folio)
		w.set("PRODCODE", t.Product)
		w.set("SCHEME", t.SchemeName)
		w.set("INV_NAME", t.Investor)
		w.set("TRXNTYPE", code)
		w.set("TRXNNO", t.TxnNo)
		w.set("TRXNMODE", "N")
		w.set("TRXNSTAT", t.Status)
		w.set("USRTRXNO", t.UserRef)
		w.set("TRADDATE", w.date(t.TradeDate))
		w.set("POSTDATE", w.date(t.PostDate))
		w.set("PURPRICE", nav)
		w.set("UNITS", units.String())
		w.set("AMOUNT", amount.String())
		w.set("REP_DATE", w.date(t.Reported))
		w.set("TIME1", "21:30:00")
		w.set("TRXN_NATUR", nature(t.Kind))
		w.set("STAMP_DUTY", t.StampDuty.String())
		w.set("SIPTRXNNO", t.SIPRegNo)
	case KFinMFSD201:
		purred := "P"
		if t.Kind.Valid() && !t.Kind.IssuesUnits() {
			purred = "R"
		}
		w.set("FMCODE", t.Product)
		w.set("TD_FUND", amcCode(t.Product))
		w.set("TD_SCHEME", schemePart(t.Product))
		w.set("TD_PLAN", planPart(t.Product))
		w.set("TD_ACNO", t.Folio)
		w.set("FUNDDESC", t.SchemeName)
		w.set("INVNAME", t.Investor)
		w.set("TD_PURRED", purred)
		w.set("TD_TRNO", t.TxnNo)
		w.set("TRNMODE", "N")
		w.set("TRNSTAT", t.Status)
		w.set("TD_TRDT", w.date(t.TradeDate))
		w.set("TD_PRDT", w.date(t.PostDate))
		w.set("TD_UNITS", units.String())
		w.set("TD_AMT", amount.String())
		w.set("CRDATE", w.date(t.Reported))
		w.set("CRTIME", "21:30:00")
		w.set("UNQNO", t.UserRef)
		w.set("TRDESC", nature(t.Kind))
		w.set("TD_TRTYPE", code)
		w.set("NAVDATE", w.date(t.NAVDate))
		w.set("SCHEMEISIN", t.ISIN)
		w.set("TD_NAV", nav)
		w.set("STAMPDUTY", t.StampDuty.String())
	default:
		return fmt.Errorf("rta: no transactions writer for %s", w.layout.Name)
	}
	return w.flushRow()
}

// Flush writes what is buffered.
func (w *Writer) Flush() error { return w.bw.Flush() }

// fixed writes d with at least n decimals, and all of its own: a value is
// never rounded on its way into a file.
func fixed(d decimal.Decimal, n int32) string {
	if -d.Exponent() > n {
		return d.String()
	}
	return d.StringFixed(n)
}

func nature(k fund.TxKind) string {
	switch k {
	case fund.Purchase:
		return "Purchase"
	case fund.SIP:
		return "Systematic Investment Purchase" // as the RTAs' statements print an instalment
	case fund.SwitchIn:
		return "Switch In"
	case fund.SwitchOut:
		return "Switch Out"
	case fund.Redemption:
		return "Redemption"
	case fund.IDCWReinvest:
		return "IDCW Reinvestment"
	}
	return ""
}

// amcCode, schemePart and planPart cut a product code the way the RTAs
// build theirs: an AMC prefix letter, a scheme code and a two-letter plan.
func amcCode(product string) string {
	if product == "" {
		return ""
	}
	return product[:1]
}

func schemePart(product string) string {
	if len(product) <= 2 {
		return product
	}
	return product[:len(product)-2]
}

func planPart(product string) string {
	if len(product) <= 2 {
		return ""
	}
	return product[len(product)-2:]
}
