package rta

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/fundflow/fundflow/fund"
)

// Kind says what a feed reports.
type Kind string

// The kinds of feed.
const (
	Holdings     Kind = "holdings"
	Transactions Kind = "transactions"
)

// field is a logical field a parser reads, whatever the RTA calls it.
type field int

const (
	fFolio field = iota
	fProduct
	fISIN
	fSchemeName
	fAsOf
	fUnits
	fNAV
	fValue
	fInvestor
	fPAN
	fBroker
	fTxnNo
	fUserRef
	fType
	fTradeDate
	fNAVDate
	fPostDate
	fAmount
	fStampDuty
	fStatus
	fReported
	fSIPReg
	numFields
)

var fieldNames = [numFields]string{"folio", "product", "isin", "scheme name", "as-of date", "units", "NAV", "value",
	"investor", "PAN", "broker", "transaction number", "user reference", "transaction type", "trade date", "NAV date",
	"post date", "amount", "stamp duty", "status", "report date", "SIP registration"}

// Layout is one RTA feed layout: its columns and which of them carry the
// fields a reconciliation needs.
type Layout struct {
	Name string // stable id, e.g. "cams-wbr22"
	RTA  string // fund.RTACAMS or fund.RTAKFintech
	Kind Kind
	// Columns is the full column list in the order the RTA documents it
	// (and Writer writes it). The parser does not depend on it: it reads
	// by name.
	Columns []string
	// Identify: a header holding all of these columns is this layout.
	Identify []string
	// cols maps each logical field to the column names that may carry it,
	// first present wins; required fields must have one.
	cols     map[field][]string
	required []field
	codes    map[string]fund.TxKind // transaction type codes (Transactions only)
}

func (l *Layout) String() string { return l.Name }

// The four layouts. Column lists: CAMS WBR22 and KFintech MFSD203 from the
// CDM entity documents in ../shared/fixtures/rta/layouts (FUNDDESC, listed
// twice there, is written once); CAMS WBR2 and KFintech MFSD201 as the RTAs
// publish them to distributors.
var (
	CAMSWBR22 = &Layout{
		Name: "cams-wbr22", RTA: fund.RTACAMS, Kind: Holdings,
		Columns: []string{"BROK_DLR_C", "PRODUCT", "ASSET_DATE", "FOLIO", "INV_NAME", "SCHEME_NAM", "CLOSING_AS", "CITY",
			"AE_CODE", "TAX_STATUS", "UNITS", "NAV", "INV_IIN", "FOLIO_OLD", "SCHEME_FOL"},
		Identify: []string{"FOLIO", "PRODUCT", "ASSET_DATE", "UNITS"},
		cols: map[field][]string{
			fFolio: {"FOLIO"}, fProduct: {"PRODUCT"}, fSchemeName: {"SCHEME_NAM"}, fAsOf: {"ASSET_DATE"},
			fUnits: {"UNITS"}, fNAV: {"NAV"}, fValue: {"CLOSING_AS"}, fInvestor: {"INV_NAME"}, fBroker: {"BROK_DLR_C"},
		},
		required: []field{fFolio, fProduct, fAsOf, fUnits},
	}
	KFinMFSD203 = &Layout{
		Name: "kfintech-mfsd203", RTA: fund.RTAKFintech, Kind: Holdings,
		Columns: []string{"PRCODE", "FUND", "ACNO", "FUNDDESC", "BALUNITS", "PLDG", "TRDATE", "TRDESC", "MOH", "BROKCODE",
			"SBCODE", "POUT", "INV_ID", "INV_NAME", "ADDRESS1", "ADDRESS2", "ADDRESS3", "CITY", "INV_PIN", "RPHONE", "OPHONE",
			"FAX", "EMAIL", "VALINV", "LNAV", "CRDATE", "CRTIME", "DIVOPT", "PLDGBANK", "PAN", "PLN", "SCHEMEISIN",
			"CLIENT_ID", "DP_ID", "TODATE", "MOBILE"},
		Identify: []string{"ACNO", "PRCODE", "BALUNITS"},
		cols: map[field][]string{
			fFolio: {"ACNO"}, fProduct: {"PRCODE"}, fISIN: {"SCHEMEISIN"}, fSchemeName: {"FUNDDESC"},
			// TODATE is the balance date; TRDATE is empty in most mailbacks, CRDATE is when the file was made.
			fAsOf:  {"TODATE", "TRDATE", "CRDATE"},
			fUnits: {"BALUNITS"}, fNAV: {"LNAV"}, fValue: {"VALINV"}, fInvestor: {"INV_NAME"}, fPAN: {"PAN"},
			fBroker: {"BROKCODE"},
		},
		required: []field{fFolio, fProduct, fAsOf, fUnits},
	}
	CAMSWBR2 = &Layout{
		Name: "cams-wbr2", RTA: fund.RTACAMS, Kind: Transactions,
		Columns: []string{"AMC_CODE", "FOLIO_NO", "PRODCODE", "SCHEME", "INV_NAME", "TRXNTYPE", "TRXNNO", "TRXNMODE",
			"TRXNSTAT", "USERCODE", "USRTRXNO", "TRADDATE", "POSTDATE", "PURPRICE", "UNITS", "AMOUNT", "BROKCODE", "SUBBROK",
			"BROKPERC", "BROKCOMM", "ALTFOLIO", "REP_DATE", "TIME1", "TRXNSUBTYP", "APPLICATIO", "TRXN_NATUR", "TAX",
			"TOTAL_TAX", "TE_15H", "MICR_NO", "REMARKS", "SWFLAG", "OLD_FOLIO", "SEQ_NO", "REINVEST_F", "MULT_BROK", "STT",
			"LOCATION", "SCHEME_TYP", "TAX_STATUS", "LOAD", "SCANREFNO", "PAN", "INV_IIN", "TARG_SRC_S", "TRXN_TYPE_",
			"TICOB_TRTY", "TICOB_TRNO", "TICOB_POST", "DP_ID", "TRXN_CHARG", "ELIGIB_AMT", "SRC_OF_TXN", "TRXN_SUFFI",
			"SIPTRXNNO", "TER_LOCATI", "EUIN", "EUIN_VALID", "EUIN_OPTED", "SUB_BRK_AR", "EXCH_DC_FL", "SRC_BRK_CO",
			"SYS_REGN_D", "AC_NO", "BANK_NAME", "REVERSAL_C", "EXCHANGE_F", "CA_INITIAT", "GST_STATE_", "IGST_AMOUN",
			"CGST_AMOUN", "SGST_AMOUN", "REV_REMARK", "ORIGINAL_T", "STAMP_DUTY"},
		Identify: []string{"FOLIO_NO", "PRODCODE", "TRXNTYPE", "TRXNNO"},
		cols: map[field][]string{
			fFolio: {"FOLIO_NO"}, fProduct: {"PRODCODE"}, fSchemeName: {"SCHEME"}, fInvestor: {"INV_NAME"},
			fType: {"TRXNTYPE"}, fTxnNo: {"TRXNNO"}, fStatus: {"TRXNSTAT"}, fUserRef: {"USRTRXNO"},
			// CAMS applies the NAV of the trade date: TRADDATE is the NAV date.
			fTradeDate: {"TRADDATE"}, fNAVDate: {"TRADDATE"}, fPostDate: {"POSTDATE"}, fNAV: {"PURPRICE"},
			fUnits: {"UNITS"}, fAmount: {"AMOUNT"}, fBroker: {"BROKCODE"}, fReported: {"REP_DATE"}, fPAN: {"PAN"},
			fStampDuty: {"STAMP_DUTY"}, fSIPReg: {"SIPTRXNNO"},
		},
		required: []field{fFolio, fProduct, fType, fTxnNo, fTradeDate, fUnits, fAmount},
		codes: map[string]fund.TxKind{
			"P": fund.Purchase, "NEW": fund.Purchase, "ADD": fund.Purchase, "SIP": fund.SIP, "SIN": fund.SIP,
			"R": fund.Redemption, "SI": fund.SwitchIn, "SO": fund.SwitchOut, "DR": fund.IDCWReinvest,
		},
	}
	KFinMFSD201 = &Layout{
		Name: "kfintech-mfsd201", RTA: fund.RTAKFintech, Kind: Transactions,
		Columns: []string{"FMCODE", "TD_FUND", "TD_SCHEME", "TD_PLAN", "TD_ACNO", "SCHPLN", "DIVOPT", "FUNDDESC",
			"TD_PURRED", "TD_TRNO", "SMCODE", "CHQNO", "INVNAME", "TRNMODE", "TRNSTAT", "TD_BRANCH", "ISCTRNO", "TD_TRDT",
			"TD_PRDT", "TD_UNITS", "TD_AMT", "TD_AGENT", "TD_BROKER", "BROKPER", "BROKCOMM", "INVID", "CRDATE", "CRTIME",
			"TRNSUB", "TD_APPNO", "UNQNO", "TRDESC", "TD_TRTYPE", "NAVDATE", "PORTDT", "ASSETTYPE", "SUBTRTYPE",
			"CITYCATEG0", "EUIN", "TRCHARGES", "CLIENTID", "DPID", "STT", "IHNO", "BRANCHCODE", "INWARDNUM", "PAN1",
			"PAN2", "PAN3", "TDSAMOUNT", "CHQDATE", "CHQBANK", "TRFLAG", "LOAD1", "BROK_ENTDT", "NCTREMARKS", "PRCODE1",
			"STATUS", "SCHEMEISIN", "TD_NAV", "INSAMOUNT", "REJTRNOORGNO", "EVALID", "EDECLFLAG", "SUBARNCODE",
			"ATMCARDSTATUS", "ATMCARDREMARKS", "NRI_SOF", "SEQ_NO", "STAMPDUTY"},
		Identify: []string{"TD_ACNO", "TD_TRNO", "TD_UNITS", "TD_AMT"},
		cols: map[field][]string{
			// FMCODE is scheme+plan, the same code MFSD203 calls PRCODE.
			fFolio: {"TD_ACNO"}, fProduct: {"FMCODE", "PRCODE1"}, fISIN: {"SCHEMEISIN"}, fSchemeName: {"FUNDDESC"},
			fInvestor: {"INVNAME"}, fTxnNo: {"TD_TRNO"}, fUserRef: {"UNQNO"}, fType: {"TD_TRTYPE"},
			fTradeDate: {"TD_TRDT"}, fNAVDate: {"NAVDATE", "TD_TRDT"}, fPostDate: {"TD_PRDT"}, fNAV: {"TD_NAV"},
			fUnits: {"TD_UNITS"}, fAmount: {"TD_AMT"}, fStampDuty: {"STAMPDUTY"}, fStatus: {"TRNSTAT"},
			fReported: {"CRDATE"}, fPAN: {"PAN1"}, fBroker: {"TD_BROKER"},
		},
		required: []field{fFolio, fProduct, fType, fTxnNo, fTradeDate, fUnits, fAmount},
		codes: map[string]fund.TxKind{
			"NEW": fund.Purchase, "ADD": fund.Purchase, "IPO": fund.Purchase, "SIN": fund.SIP,
			"RED": fund.Redemption, "FUL": fund.Redemption, "LTIN": fund.SwitchIn, "LTIA": fund.SwitchIn,
			"LTOF": fund.SwitchOut, "LTOP": fund.SwitchOut, "DIR": fund.IDCWReinvest,
		},
	}
)

// Layouts are the layouts NewParser recognises, in the order it tries them.
var Layouts = []*Layout{CAMSWBR22, KFinMFSD203, CAMSWBR2, KFinMFSD201}

// TypeCode returns the code this layout writes for kind (the first of its
// codes for that kind, in a fixed order), or "" if it has none.
func (l *Layout) TypeCode(kind fund.TxKind) string {
	best := ""
	for code, k := range l.codes {
		if k == kind && (best == "" || len(code) < len(best) || (len(code) == len(best) && code < best)) {
			best = code
		}
	}
	return best
}

// KnownCodes lists the transaction type codes of the layout.
func (l *Layout) KnownCodes() []string {
	out := make([]string, 0, len(l.codes))
	for c := range l.codes {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// ErrNotRTAFile means the input is not a feed of a known layout: an empty
// body, an HTML page, or a header no layout matches. The whole file is
// refused.
var ErrNotRTAFile = errors.New("not a known RTA feed")

// HeaderError says why a file's header was refused. errors.Is(err,
// ErrNotRTAFile) is true.
type HeaderError struct {
	Line    int    // the header's line (for an empty body: the number of blank lines)
	Header  string // the line as found, cut to 200 bytes
	Problem string // what is wrong, in words
}

func (e *HeaderError) Error() string {
	if e.Header == "" {
		return fmt.Sprintf("%s: %s", ErrNotRTAFile, e.Problem)
	}
	return fmt.Sprintf("%s: line %d: %s (header %q)", ErrNotRTAFile, e.Line, e.Problem, e.Header)
}

func (e *HeaderError) Unwrap() error { return ErrNotRTAFile }

// normName brings a column name to the form layouts use: no BOM, quotes or
// surrounding spaces, upper case (the WBR22 document itself spells one
// column " SCHEME_FOL").
func normName(s string) string {
	s = strings.TrimPrefix(s, "\ufeff")
	s = strings.TrimSpace(s)
	s = strings.Trim(s, `"`)
	return strings.ToUpper(strings.TrimSpace(s))
}

// identify finds the layout of a header and maps each logical field to its
// column index (-1 when the file does not carry it).
func identify(names []string) (*Layout, [numFields]int, error) {
	var idx [numFields]int
	at := make(map[string]int, len(names))
	for i, n := range names {
		n = normName(n)
		if _, dup := at[n]; !dup && n != "" {
			at[n] = i // a column named twice: the first one counts
		}
	}
	var match *Layout
	for _, l := range Layouts {
		ok := true
		for _, c := range l.Identify {
			if _, has := at[c]; !has {
				ok = false
				break
			}
		}
		if ok {
			match = l
			break
		}
	}
	if match == nil {
		return nil, idx, fmt.Errorf("no known layout (CAMS WBR22/WBR2, KFintech MFSD203/MFSD201) has these columns")
	}
	for f := range idx {
		idx[f] = -1
		for _, c := range match.cols[field(f)] {
			if i, ok := at[c]; ok {
				idx[f] = i
				break
			}
		}
	}
	var missing []string
	for _, f := range match.required {
		if idx[f] < 0 {
			missing = append(missing, match.cols[f][0])
		}
	}
	if len(missing) > 0 {
		return nil, idx, fmt.Errorf("looks like %s but lacks the column(s) %s", match.Name, strings.Join(missing, ", "))
	}
	return match, idx, nil
}
