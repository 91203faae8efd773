package fund

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// ts parses a test time: "2026-08-21 14:59:59[.999]" or "2026-08-21 14:59"
// is IST; anything with a 'T' is RFC 3339 with its own zone ("Z", "-04:00");
// "" is the zero time (no funds).
func ts(t testing.TB, s string) time.Time {
	t.Helper()
	if s == "" {
		return time.Time{}
	}
	if strings.Contains(s, "T") {
		x, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatalf("time %q: %v", s, err)
		}
		return x
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04"} {
		if x, err := time.ParseInLocation(layout, s, IST()); err == nil {
			return x
		}
	}
	t.Fatalf("time %q: want 2006-01-02 15:04[:05] (IST) or RFC 3339", s)
	return time.Time{}
}

// Categories as they come in feeds (mapped by CategoryRuleFor).
const (
	equity    = "Open Ended Schemes(Equity Scheme - Large Cap Fund)"
	debt      = "Debt Scheme - Corporate Bond Fund"
	liquid    = "Open Ended Schemes(Debt Scheme - Liquid Fund)"
	overnight = "Open Ended Schemes(Debt Scheme - Overnight Fund)"
)

// TestApplicableNAVDateGolden: every case was worked out by hand from the
// rule in ApplicableNAVDate's doc comment and the real NSE F&O holiday files
// of 2024-2026 (../../shared/fixtures/calendar). Times without a zone are
// IST. Days of the week used most: 2026 Aug 19 Wed, 20 Thu, 21 Fri, 22 Sat,
// 23 Sun, 24 Mon, 25 Tue. 2026 holidays used: 15-Jan Thu (mid-year
// addition), 26-Jan Mon, 31-Mar Tue, 03-Apr Fri, 14-Apr Tue, 01-May Fri,
// 15-Aug Sat, 02-Oct Fri, 25-Dec Fri.
// outside is the want of a case whose answer needs a date no holiday file covers.
const outside = "outside"

func TestApplicableNAVDateGolden(t *testing.T) {
	cal := realCalendar(t)
	cases := []struct {
		name  string
		cat   string
		kind  TxKind
		order string
		funds string
		want  string // DD-Mon-YYYY
		rule  string
	}{
		// ---- purchase, standard schemes: 15:00 IST cut-off on E = max(order, funds)
		{"A01 Fri morning", equity, Purchase, "2026-08-21 10:00", "2026-08-21 09:00", "21-Aug-2026", RulePurchase3PM},
		{"A02 Fri 14:59:59", equity, Purchase, "2026-08-21 14:59:59", "2026-08-21 14:00", "21-Aug-2026", RulePurchase3PM},
		// exactly 15:00:00 is not "before 3 PM"
		{"A03 Fri 15:00:00", equity, Purchase, "2026-08-21 15:00:00", "2026-08-21 14:00", "24-Aug-2026", RulePurchase3PM},
		{"A04 Fri 15:00:01", equity, Purchase, "2026-08-21 15:00:01", "2026-08-21 14:00", "24-Aug-2026", RulePurchase3PM},
		// a millisecond before the cut-off still counts
		{"A05 Fri 14:59:59.999", equity, Purchase, "2026-08-21 14:59:59.999", "2026-08-21 14:00", "21-Aug-2026", RulePurchase3PM},
		{"A06 Fri midnight", equity, Purchase, "2026-08-21 00:00:00", "2026-08-21 00:00:00", "21-Aug-2026", RulePurchase3PM},
		{"A07 Fri 23:59:59", equity, Purchase, "2026-08-21 23:59:59", "2026-08-21 23:59:59", "24-Aug-2026", RulePurchase3PM},
		{"A08 Thu afternoon", debt, Purchase, "2026-08-20 14:00", "2026-08-20 14:00", "20-Aug-2026", RulePurchase3PM},
		{"A09 Thu after cut-off → Fri", debt, Purchase, "2026-08-20 16:00", "2026-08-20 16:00", "21-Aug-2026", RulePurchase3PM},
		{"A10 Mon morning", equity, Purchase, "2026-08-24 09:30", "2026-08-24 09:30", "24-Aug-2026", RulePurchase3PM},
		{"A11 Wed 15:00 → Thu", equity, Purchase, "2026-08-19 15:00", "2026-08-19 15:00", "20-Aug-2026", RulePurchase3PM},
		{"A12 Saturday → Mon", equity, Purchase, "2026-08-22 10:00", "2026-08-22 10:00", "24-Aug-2026", RulePurchase3PM},
		{"A13 Sunday → Mon", equity, Purchase, "2026-08-23 14:00", "2026-08-23 14:00", "24-Aug-2026", RulePurchase3PM},
		// 15-Aug-2026 is a Saturday and a holiday: no effect beyond the weekend
		{"A14 Independence Day on Saturday", equity, Purchase, "2026-08-15 11:00", "2026-08-15 11:00", "17-Aug-2026", RulePurchase3PM},
		{"A15 Fri 14-Aug after cut-off", equity, Purchase, "2026-08-14 16:00", "2026-08-14 16:00", "17-Aug-2026", RulePurchase3PM},
		// 15-Jan-2026 was added mid-year (Maharashtra municipal elections)
		{"A16 on the 15-Jan-2026 holiday", equity, Purchase, "2026-01-15 11:00", "2026-01-15 11:00", "16-Jan-2026", RulePurchase3PM},
		{"A17 Wed 14-Jan after cut-off, Thu holiday", equity, Purchase, "2026-01-14 15:30", "2026-01-14 15:30", "16-Jan-2026", RulePurchase3PM},
		{"A18 Wed 14-Jan before cut-off", equity, Purchase, "2026-01-14 14:30", "2026-01-14 14:30", "14-Jan-2026", RulePurchase3PM},
		// 26-Jan-2026 Republic Day is a Monday
		{"A19 on Republic Day 2026", equity, Purchase, "2026-01-26 10:00", "2026-01-26 10:00", "27-Jan-2026", RulePurchase3PM},
		{"A20 Fri 23-Jan after cut-off: weekend + holiday", equity, Purchase, "2026-01-23 15:01", "2026-01-23 15:01", "27-Jan-2026", RulePurchase3PM},
		// 03-Apr-2026 Good Friday
		{"A21 Thu 02-Apr at 15:00 → Mon", equity, Purchase, "2026-04-02 15:00", "2026-04-02 15:00", "06-Apr-2026", RulePurchase3PM},
		{"A22 on Good Friday", equity, Purchase, "2026-04-03 10:00", "2026-04-03 10:00", "06-Apr-2026", RulePurchase3PM},
		{"A23 Mon 30-Mar after cut-off, 31-Mar holiday", equity, Purchase, "2026-03-30 16:00", "2026-03-30 16:00", "01-Apr-2026", RulePurchase3PM},
		{"A24 Mon 13-Apr at 15:00, 14-Apr holiday", equity, Purchase, "2026-04-13 15:00", "2026-04-13 15:00", "15-Apr-2026", RulePurchase3PM},
		{"A25 Thu 30-Apr after cut-off, 01-May Fri holiday", equity, Purchase, "2026-04-30 16:00", "2026-04-30 16:00", "04-May-2026", RulePurchase3PM},
		{"A26 on Christmas 2026 (Fri)", equity, Purchase, "2026-12-25 12:00", "2026-12-25 12:00", "28-Dec-2026", RulePurchase3PM},
		{"A27 Thu 24-Dec at 15:00", equity, Purchase, "2026-12-24 15:00", "2026-12-24 15:00", "28-Dec-2026", RulePurchase3PM},
		// year end: 1-Jan is not a holiday
		{"A28 31-Dec-2026 at 15:00 → 1-Jan-2027, outside the 2024-2026 files", equity, Purchase, "2026-12-31 15:00", "2026-12-31 15:00", outside, RulePurchase3PM},
		{"A29 31-Dec-2026 14:59", equity, Purchase, "2026-12-31 14:59", "2026-12-31 14:59", "31-Dec-2026", RulePurchase3PM},
		{"A30 31-Dec-2025 after cut-off → 1-Jan-2026", equity, Purchase, "2025-12-31 16:00", "2025-12-31 16:00", "01-Jan-2026", RulePurchase3PM},
		{"A31 31-Dec-2024 15:00:01 → 1-Jan-2025", debt, Purchase, "2024-12-31 15:00:01", "2024-12-31 15:00:01", "01-Jan-2025", RulePurchase3PM},
		// funds realised later than the order: E is the funds time
		{"A32 funds same day before cut-off", equity, Purchase, "2026-08-21 10:00", "2026-08-21 14:30", "21-Aug-2026", RulePurchase3PM},
		{"A33 funds same day exactly 15:00", equity, Purchase, "2026-08-21 10:00", "2026-08-21 15:00:00", "24-Aug-2026", RulePurchase3PM},
		{"A34 funds same day after cut-off", equity, Purchase, "2026-08-21 10:00", "2026-08-21 16:45", "24-Aug-2026", RulePurchase3PM},
		{"A35 funds next morning", equity, Purchase, "2026-08-20 11:00", "2026-08-21 09:15", "21-Aug-2026", RulePurchase3PM},
		{"A36 funds next day after cut-off", equity, Purchase, "2026-08-20 11:00", "2026-08-21 15:10", "24-Aug-2026", RulePurchase3PM},
		{"A37 funds on Saturday", equity, Purchase, "2026-08-21 12:00", "2026-08-22 10:00", "24-Aug-2026", RulePurchase3PM},
		{"A38 funds over the weekend, Mon morning", equity, Purchase, "2026-08-21 12:00", "2026-08-24 11:00", "24-Aug-2026", RulePurchase3PM},
		{"A39 funds Mon at the cut-off", equity, Purchase, "2026-08-21 12:00", "2026-08-24 15:00", "25-Aug-2026", RulePurchase3PM},
		{"A40 funds on the 15-Jan-2026 holiday", equity, Purchase, "2026-01-14 10:00", "2026-01-15 10:00", "16-Jan-2026", RulePurchase3PM},
		{"A41 funds on Republic Day Monday", equity, Purchase, "2026-01-23 11:00", "2026-01-26 09:00", "27-Jan-2026", RulePurchase3PM},
		{"A42 funds on Good Friday", equity, Purchase, "2026-04-02 14:00", "2026-04-03 10:00", "06-Apr-2026", RulePurchase3PM},
		// funds before the order count from the order (E = T)
		{"A43 funds earlier, order after cut-off", equity, Purchase, "2026-08-21 15:30", "2026-08-20 10:00", "24-Aug-2026", RulePurchase3PM},
		{"A44 funds earlier same day", equity, Purchase, "2026-08-21 11:00", "2026-08-21 08:00", "21-Aug-2026", RulePurchase3PM},
		// circular case (ii): order after cut-off, funds before next day's cut-off
		{"A45 order after cut-off, funds next morning", equity, Purchase, "2026-08-20 16:00", "2026-08-21 10:00", "21-Aug-2026", RulePurchase3PM},
		{"A46 order after cut-off, funds next day at 15:00", equity, Purchase, "2026-08-20 16:00", "2026-08-21 15:00", "24-Aug-2026", RulePurchase3PM},
		{"A47 Fri late order, Mon morning funds", equity, Purchase, "2026-08-21 15:30", "2026-08-24 09:00", "24-Aug-2026", RulePurchase3PM},
		{"A48 funds Saturday 23:59", equity, Purchase, "2026-08-21 14:00", "2026-08-22 23:59", "24-Aug-2026", RulePurchase3PM},
		{"A49 order and funds on Sunday", equity, Purchase, "2026-08-23 10:00", "2026-08-23 10:05", "24-Aug-2026", RulePurchase3PM},
		// zones: inputs are converted to IST
		{"A50 09:29Z = 14:59 IST", equity, Purchase, "2026-08-21T09:29:00Z", "2026-08-21T04:30:00Z", "21-Aug-2026", RulePurchase3PM},
		{"A51 09:30Z = 15:00 IST", equity, Purchase, "2026-08-21T09:30:00Z", "2026-08-21T04:30:00Z", "24-Aug-2026", RulePurchase3PM},
		// Thursday in UTC, Friday 00:00 in IST
		{"A52 Thu 18:30Z = Fri 00:00 IST", equity, Purchase, "2026-08-20T18:30:00Z", "2026-08-20T18:30:00Z", "21-Aug-2026", RulePurchase3PM},
		// Thursday 23:59:59 IST: after Thursday's cut-off → Friday
		{"A53 Thu 18:29:59Z = Thu 23:59:59 IST", equity, Purchase, "2026-08-20T18:29:59Z", "2026-08-20T18:29:59Z", "21-Aug-2026", RulePurchase3PM},
		// Friday evening in New York is Saturday 08:30 IST
		{"A54 Fri 23:00-04:00 = Sat IST", equity, Purchase, "2026-08-21T23:00:00-04:00", "2026-08-21T23:00:00-04:00", "24-Aug-2026", RulePurchase3PM},
		{"A55 10:00+01:00 = 14:30 IST", equity, Purchase, "2026-08-21T10:00:00+01:00", "2026-08-21T10:00:00+01:00", "21-Aug-2026", RulePurchase3PM},
		{"A56 funds given in UTC = 15:00 IST", equity, Purchase, "2026-08-21 10:00", "2026-08-21T09:30:00Z", "24-Aug-2026", RulePurchase3PM},
		{"A57 +05:30 explicit", equity, Purchase, "2026-08-21T14:59:59+05:30", "2026-08-21T14:59:59+05:30", "21-Aug-2026", RulePurchase3PM},
		// SIP and switch-in follow the purchase rule
		{"A58 SIP Fri before cut-off", equity, SIP, "2026-08-21 14:00", "2026-08-21 10:00", "21-Aug-2026", RulePurchase3PM},
		{"A59 SIP funds on Gandhi Jayanti (Fri 02-Oct-2026)", equity, SIP, "2026-10-01 16:00", "2026-10-02 10:00", "05-Oct-2026", RulePurchase3PM},
		{"A60 switch-in 14:59:59", debt, SwitchIn, "2026-08-21 14:59:59", "2026-08-21 14:59:59", "21-Aug-2026", RulePurchase3PM},
		{"A61 switch-in 15:00", debt, SwitchIn, "2026-08-21 15:00", "2026-08-21 15:00", "24-Aug-2026", RulePurchase3PM},
		// 2024 and 2025 holidays
		{"A62 on the ad-hoc 22-Jan-2024 (Ram Mandir)", equity, Purchase, "2024-01-22 11:00", "2024-01-22 11:00", "23-Jan-2024", RulePurchase3PM},
		{"A63 Thu 25-Jan-2024 at 15:00, Fri Republic Day", equity, Purchase, "2024-01-25 15:00", "2024-01-25 15:00", "29-Jan-2024", RulePurchase3PM},
		// 01-Nov-2024 is in the April draft but not in the final file: a business day here
		{"A64 01-Nov-2024 per the final file", equity, Purchase, "2024-11-01 11:00", "2024-11-01 11:00", "01-Nov-2024", RulePurchase3PM},
		{"A65 Thu 13-Mar-2025 late, Fri Holi", equity, Purchase, "2025-03-13 15:30", "2025-03-13 15:30", "17-Mar-2025", RulePurchase3PM},
		{"A66 Thu 17-Apr-2025 late, Good Friday 2025", equity, Purchase, "2025-04-17 16:00", "2025-04-17 16:00", "21-Apr-2025", RulePurchase3PM},
		{"A67 Mon 20-Oct-2025 at 15:00, Diwali Tue+Wed", equity, Purchase, "2025-10-20 15:00", "2025-10-20 15:00", "23-Oct-2025", RulePurchase3PM},
		{"A68 on Diwali Tue 21-Oct-2025", equity, Purchase, "2025-10-21 10:00", "2025-10-21 10:00", "23-Oct-2025", RulePurchase3PM},
		{"A69 Wed 24-Dec-2025 at 15:00, Christmas Thu", equity, Purchase, "2025-12-24 15:00", "2025-12-24 15:00", "26-Dec-2025", RulePurchase3PM},
		{"A70 Tue 19-Nov-2024 late, election Wed", equity, Purchase, "2024-11-19 16:00", "2024-11-19 16:00", "21-Nov-2024", RulePurchase3PM},

		// ---- purchase, liquid and overnight: 13:30 IST cut-off, NAV of the calendar day before
		{"B01 Fri 10:00 → Thu NAV", liquid, Purchase, "2026-08-21 10:00", "2026-08-21 09:00", "20-Aug-2026", RuleLiquid130PM},
		{"B02 Fri 13:29:59 → Thu NAV", liquid, Purchase, "2026-08-21 13:29:59", "2026-08-21 13:00", "20-Aug-2026", RuleLiquid130PM},
		// at 13:30:00 the cut-off has passed: next business day Mon, day before = Sun
		{"B03 Fri 13:30:00 → Sun NAV", liquid, Purchase, "2026-08-21 13:30:00", "2026-08-21 13:00", "23-Aug-2026", RuleLiquid130PM},
		{"B04 Fri 13:30:01 → Sun NAV", liquid, Purchase, "2026-08-21 13:30:01", "2026-08-21 13:00", "23-Aug-2026", RuleLiquid130PM},
		{"B05 Fri 14:00 → Sun NAV", liquid, Purchase, "2026-08-21 14:00", "2026-08-21 14:00", "23-Aug-2026", RuleLiquid130PM},
		{"B06 Saturday → Sun NAV", liquid, Purchase, "2026-08-22 10:00", "2026-08-22 10:00", "23-Aug-2026", RuleLiquid130PM},
		{"B07 Sunday → Sun NAV", liquid, Purchase, "2026-08-23 10:00", "2026-08-23 10:00", "23-Aug-2026", RuleLiquid130PM},
		{"B08 Mon morning → Sun NAV", liquid, Purchase, "2026-08-24 10:00", "2026-08-24 10:00", "23-Aug-2026", RuleLiquid130PM},
		{"B09 Mon 13:30 → Mon NAV", liquid, Purchase, "2026-08-24 13:30", "2026-08-24 13:30", "24-Aug-2026", RuleLiquid130PM},
		{"B10 Wed 13:00 → Tue NAV", liquid, Purchase, "2026-08-19 13:00", "2026-08-19 13:00", "18-Aug-2026", RuleLiquid130PM},
		{"B11 Wed 15:00 → Wed NAV", liquid, Purchase, "2026-08-19 15:00", "2026-08-19 15:00", "19-Aug-2026", RuleLiquid130PM},
		{"B12 Thu 14:00 → Thu NAV", liquid, Purchase, "2026-08-20 14:00", "2026-08-20 14:00", "20-Aug-2026", RuleLiquid130PM},
		{"B13 Fri 14-Aug late, Sat holiday → Sun NAV", liquid, Purchase, "2026-08-14 14:00", "2026-08-14 14:00", "16-Aug-2026", RuleLiquid130PM},
		{"B14 Fri 14-Aug 10:00 → Thu NAV", liquid, Purchase, "2026-08-14 10:00", "2026-08-14 10:00", "13-Aug-2026", RuleLiquid130PM},
		{"B15 Sat 15-Aug holiday → Sun NAV", liquid, Purchase, "2026-08-15 10:00", "2026-08-15 10:00", "16-Aug-2026", RuleLiquid130PM},
		// next business day after Wed 14-Jan is Fri 16-Jan: NAV of the holiday
		{"B16 Wed 14-Jan late → holiday's NAV", liquid, Purchase, "2026-01-14 14:00", "2026-01-14 14:00", "15-Jan-2026", RuleLiquid130PM},
		{"B17 on the 15-Jan holiday → its NAV", liquid, Purchase, "2026-01-15 10:00", "2026-01-15 10:00", "15-Jan-2026", RuleLiquid130PM},
		{"B18 Fri 16-Jan morning → holiday's NAV", liquid, Purchase, "2026-01-16 10:00", "2026-01-16 10:00", "15-Jan-2026", RuleLiquid130PM},
		{"B19 Fri 23-Jan late → Mon 26-Jan (holiday) NAV", liquid, Purchase, "2026-01-23 14:00", "2026-01-23 14:00", "26-Jan-2026", RuleLiquid130PM},
		{"B20 on Republic Day 2026", liquid, Purchase, "2026-01-26 11:00", "2026-01-26 11:00", "26-Jan-2026", RuleLiquid130PM},
		{"B21 Tue 27-Jan morning → Mon NAV", liquid, Purchase, "2026-01-27 09:00", "2026-01-27 09:00", "26-Jan-2026", RuleLiquid130PM},
		{"B22 Thu 02-Apr late, Good Friday → Sun NAV", liquid, Purchase, "2026-04-02 13:45", "2026-04-02 13:45", "05-Apr-2026", RuleLiquid130PM},
		{"B23 31-Dec-2026 late → the day before 1-Jan-2027, outside the files", liquid, Purchase, "2026-12-31 14:00", "2026-12-31 14:00", outside, RuleLiquid130PM},
		// NAV date crosses back into the previous year
		{"B24 Fri 1-Jan-2027 morning, outside the files", liquid, Purchase, "2027-01-01 10:00", "2027-01-01 10:00", outside, RuleLiquid130PM},
		{"B25 Thu 1-Jan-2026 morning → 31-Dec-2025 NAV", liquid, Purchase, "2026-01-01 10:00", "2026-01-01 10:00", "31-Dec-2025", RuleLiquid130PM},
		{"B26 31-Dec-2025 late → 31-Dec-2025 NAV", liquid, Purchase, "2025-12-31 14:00", "2025-12-31 14:00", "31-Dec-2025", RuleLiquid130PM},
		{"B27 Thu 24-Dec-2026 late, Christmas Fri → Sun NAV", liquid, Purchase, "2026-12-24 14:00", "2026-12-24 14:00", "27-Dec-2026", RuleLiquid130PM},
		{"B28 funds 13:00 same day", liquid, Purchase, "2026-08-21 10:00", "2026-08-21 13:00", "20-Aug-2026", RuleLiquid130PM},
		{"B29 funds at 13:30 same day", liquid, Purchase, "2026-08-21 10:00", "2026-08-21 13:30", "23-Aug-2026", RuleLiquid130PM},
		// funds on Friday morning: NAV of the day before the funds day
		{"B30 funds next morning", liquid, Purchase, "2026-08-20 10:00", "2026-08-21 11:00", "20-Aug-2026", RuleLiquid130PM},
		{"B31 funds over the weekend", liquid, Purchase, "2026-08-20 10:00", "2026-08-24 09:00", "23-Aug-2026", RuleLiquid130PM},
		{"B32 funds on Saturday", liquid, Purchase, "2026-08-21 10:00", "2026-08-22 09:00", "23-Aug-2026", RuleLiquid130PM},
		{"B33 funds earlier, order after cut-off", liquid, Purchase, "2026-08-21 13:35", "2026-08-21 09:00", "23-Aug-2026", RuleLiquid130PM},
		// funds on Fri 02-Oct-2026 (holiday): next business day Mon 05-Oct
		{"B34 funds on Gandhi Jayanti", liquid, Purchase, "2026-09-30 11:00", "2026-10-02 10:00", "04-Oct-2026", RuleLiquid130PM},
		{"B35 07:59:59Z = 13:29:59 IST", liquid, Purchase, "2026-08-21T07:59:59Z", "2026-08-21T07:59:59Z", "20-Aug-2026", RuleLiquid130PM},
		{"B36 08:00Z = 13:30 IST", liquid, Purchase, "2026-08-21T08:00:00Z", "2026-08-21T08:00:00Z", "23-Aug-2026", RuleLiquid130PM},
		// Thursday 20:00 UTC is Friday 01:30 IST
		{"B37 Thu 20:00Z = Fri 01:30 IST", liquid, Purchase, "2026-08-20T20:00:00Z", "2026-08-20T20:00:00Z", "20-Aug-2026", RuleLiquid130PM},
		{"B38 SIP liquid Fri morning", liquid, SIP, "2026-08-21 10:00", "2026-08-21 10:00", "20-Aug-2026", RuleLiquid130PM},
		{"B39 switch-in liquid Fri afternoon", liquid, SwitchIn, "2026-08-21 14:00", "2026-08-21 14:00", "23-Aug-2026", RuleLiquid130PM},
		{"B40 overnight fund Fri afternoon", overnight, Purchase, "2026-08-21 14:00", "2026-08-21 14:00", "23-Aug-2026", RuleLiquid130PM},
		{"B41 overnight fund Fri morning", overnight, Purchase, "2026-08-21 09:00", "2026-08-21 09:00", "20-Aug-2026", RuleLiquid130PM},
		{"B42 bare 'liquid'", "liquid", Purchase, "2026-08-21 09:00", "2026-08-21 09:00", "20-Aug-2026", RuleLiquid130PM},
		{"B43 bare 'overnight'", "overnight", Purchase, "2026-08-22 09:00", "2026-08-22 09:00", "23-Aug-2026", RuleLiquid130PM},
		// 2017 taxonomy
		{"B44 'Open Ended Schemes (Liquid)'", "Open Ended Schemes (Liquid)", Purchase, "2026-08-21 13:00", "2026-08-21 13:00", "20-Aug-2026", RuleLiquid130PM},
		{"B45 on Fri 15-Nov-2024 holiday → Sun NAV", liquid, Purchase, "2024-11-15 10:00", "2024-11-15 10:00", "17-Nov-2024", RuleLiquid130PM},
		{"B46 on Diwali Tue 21-Oct-2025 → Wed NAV", liquid, Purchase, "2025-10-21 10:00", "2025-10-21 10:00", "22-Oct-2025", RuleLiquid130PM},
		{"B47 Mon 20-Oct-2025 13:00 → Sun NAV", liquid, Purchase, "2025-10-20 13:00", "2025-10-20 13:00", "19-Oct-2025", RuleLiquid130PM},
		{"B48 Mon 20-Oct-2025 14:00 → Wed NAV", liquid, Purchase, "2025-10-20 14:00", "2025-10-20 14:00", "22-Oct-2025", RuleLiquid130PM},
		// money market is not liquid: standard rule
		{"B49 money market is standard", "Open Ended Schemes(Debt Scheme - Money Market Fund)", Purchase, "2026-08-21 14:00", "2026-08-21 14:00", "21-Aug-2026", RulePurchase3PM},

		// ---- redemption and switch-out, standard schemes: request time vs 15:00
		{"C01 Fri 14:59:59", equity, Redemption, "2026-08-21 14:59:59", "", "21-Aug-2026", RuleRedemption3PM},
		{"C02 Fri 15:00:00", equity, Redemption, "2026-08-21 15:00:00", "", "24-Aug-2026", RuleRedemption3PM},
		{"C03 Fri 15:00:01", equity, Redemption, "2026-08-21 15:00:01", "", "24-Aug-2026", RuleRedemption3PM},
		// the funds time is irrelevant to a redemption
		{"C04 funds time ignored", equity, Redemption, "2026-08-21 09:00", "2026-08-24 16:00", "21-Aug-2026", RuleRedemption3PM},
		{"C05 Saturday", equity, Redemption, "2026-08-22 11:00", "", "24-Aug-2026", RuleRedemption3PM},
		{"C06 Sunday", debt, Redemption, "2026-08-23 09:00", "", "24-Aug-2026", RuleRedemption3PM},
		{"C07 on the 15-Jan-2026 holiday", equity, Redemption, "2026-01-15 10:00", "", "16-Jan-2026", RuleRedemption3PM},
		{"C08 Fri 23-Jan late: weekend + Republic Day", equity, Redemption, "2026-01-23 15:30", "", "27-Jan-2026", RuleRedemption3PM},
		{"C09 31-Dec-2026 at 15:00 → 1-Jan-2027, outside the files", equity, Redemption, "2026-12-31 15:00", "", outside, RuleRedemption3PM},
		{"C10 31-Dec-2026 noon", equity, Redemption, "2026-12-31 12:00", "", "31-Dec-2026", RuleRedemption3PM},
		{"C11 09:29:59Z = 14:59:59 IST", equity, Redemption, "2026-08-21T09:29:59Z", "", "21-Aug-2026", RuleRedemption3PM},
		{"C12 09:30Z = 15:00 IST", equity, Redemption, "2026-08-21T09:30:00Z", "", "24-Aug-2026", RuleRedemption3PM},
		{"C13 switch-out Fri 14:00", equity, SwitchOut, "2026-08-21 14:00", "", "21-Aug-2026", RuleRedemption3PM},
		{"C14 switch-out Fri 16:00", equity, SwitchOut, "2026-08-21 16:00", "", "24-Aug-2026", RuleRedemption3PM},
		{"C15 Thu 02-Apr at 15:00, Good Friday", equity, Redemption, "2026-04-02 15:00", "", "06-Apr-2026", RuleRedemption3PM},
		{"C16 Wed 24-Dec-2025 late, Christmas Thu", equity, Redemption, "2025-12-24 15:10", "", "26-Dec-2025", RuleRedemption3PM},
		{"C17 Mon 13-Apr-2026 at 15:00, Tue holiday", equity, Redemption, "2026-04-13 15:00", "", "15-Apr-2026", RuleRedemption3PM},
		{"C18 Mon 20-Oct-2025 afternoon", equity, Redemption, "2025-10-20 14:00", "", "20-Oct-2025", RuleRedemption3PM},
		{"C19 31-Dec-2024 late → 1-Jan-2025", equity, Redemption, "2024-12-31 16:00", "", "01-Jan-2025", RuleRedemption3PM},
		{"C20 Wed 23:59:59 → Thu", equity, Redemption, "2026-08-19 23:59:59", "", "20-Aug-2026", RuleRedemption3PM},
		// 13:30 is the liquid purchase cut-off; standard redemptions go by 15:00
		{"C21 money market 14:00", "Debt Scheme - Money Market Fund", Redemption, "2026-08-21 14:00", "", "21-Aug-2026", RuleRedemption3PM},

		// ---- redemption and switch-out, liquid and overnight (para 8.4.5.4):
		// before 15:00 on a business day → NAV of the day before the next
		// business day; otherwise NAV of the next business day
		{"D01 Wed 14:00 → Wed NAV", liquid, Redemption, "2026-08-19 14:00", "", "19-Aug-2026", RuleLiquidRedemption3PM},
		{"D02 Fri 14:00 → Sun NAV", liquid, Redemption, "2026-08-21 14:00", "", "23-Aug-2026", RuleLiquidRedemption3PM},
		{"D03 Fri 14:59:59 → Sun NAV", liquid, Redemption, "2026-08-21 14:59:59", "", "23-Aug-2026", RuleLiquidRedemption3PM},
		{"D04 Fri 15:00:00 → Mon NAV", liquid, Redemption, "2026-08-21 15:00:00", "", "24-Aug-2026", RuleLiquidRedemption3PM},
		// the 13:30 purchase cut-off does not apply to redemptions
		{"D05 Fri 13:45 → Sun NAV", liquid, Redemption, "2026-08-21 13:45", "", "23-Aug-2026", RuleLiquidRedemption3PM},
		// a non-business day counts as after the cut-off → next business day's NAV
		{"D06 Saturday → Mon NAV", liquid, Redemption, "2026-08-22 10:00", "", "24-Aug-2026", RuleLiquidRedemption3PM},
		{"D07 Thu 16:00 → Fri NAV", liquid, Redemption, "2026-08-20 16:00", "", "21-Aug-2026", RuleLiquidRedemption3PM},
		{"D08 Wed 14-Jan-2026 before cut-off → holiday's NAV", liquid, Redemption, "2026-01-14 14:00", "", "15-Jan-2026", RuleLiquidRedemption3PM},
		{"D09 Fri 23-Jan-2026 morning → Mon 26-Jan NAV", liquid, Redemption, "2026-01-23 10:00", "", "26-Jan-2026", RuleLiquidRedemption3PM},
		{"D10 31-Dec-2026 morning → the day before 1-Jan-2027, outside the files", overnight, Redemption, "2026-12-31 10:00", "", outside, RuleLiquidRedemption3PM},
		{"D11 switch-out liquid Fri morning → Sun NAV", liquid, SwitchOut, "2026-08-21 11:00", "", "23-Aug-2026", RuleLiquidRedemption3PM},
		{"D12 09:29Z = 14:59 IST Fri → Sun NAV", overnight, Redemption, "2026-08-21T09:29:00Z", "", "23-Aug-2026", RuleLiquidRedemption3PM},
		{"D13 09:30Z = 15:00 IST Fri → Mon NAV", overnight, Redemption, "2026-08-21T09:30:00Z", "", "24-Aug-2026", RuleLiquidRedemption3PM},
		{"D14 Thu 02-Apr-2026 morning, Good Friday → Sun NAV", liquid, Redemption, "2026-04-02 11:00", "", "05-Apr-2026", RuleLiquidRedemption3PM},
		{"D15 on the 15-Jan-2026 holiday → Fri NAV", liquid, Redemption, "2026-01-15 10:00", "", "16-Jan-2026", RuleLiquidRedemption3PM},
		{"D16 Mon 20-Oct-2025 14:00, Diwali → Wed NAV", liquid, Redemption, "2025-10-20 14:00", "", "22-Oct-2025", RuleLiquidRedemption3PM},
		{"D17 Mon 20-Oct-2025 15:00 → Thu NAV", liquid, Redemption, "2025-10-20 15:00", "", "23-Oct-2025", RuleLiquidRedemption3PM},
	}
	if len(cases) < 120 {
		t.Fatalf("golden table has %d cases, want at least 120", len(cases))
	}
	seen := make(map[string]bool)
	for _, c := range cases {
		if seen[c.name] {
			t.Fatalf("duplicate case name %q", c.name)
		}
		seen[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			got, err := ApplicableNAVDate(CategoryRuleFor(c.cat), c.kind, ts(t, c.order), ts(t, c.funds), cal)
			if c.want == outside {
				// The answer needs 1-Jan-2027, and no file covers 2027: an
				// error, never a silent business day (issue 16).
				var oor *OutOfRangeError
				if !errors.As(err, &oor) || oor.Date != NewDate(2027, 1, 1) {
					t.Fatalf("got %s, %v; want 2027-01-01 outside the calendar", got.Date, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			if got.Date != d(c.want) || got.Rule != c.rule {
				t.Errorf("got %s (%s), want %s (%s)\nreason: %s", got.Date.DMY(), got.Rule, c.want, c.rule, got.Reason)
			}
			if !strings.Contains(got.Reason, "NAV of "+c.want) {
				t.Errorf("reason %q does not name the NAV date %s", got.Reason, c.want)
			}
		})
	}
}

func TestApplicableNAVDateReasons(t *testing.T) {
	cal := realCalendar(t)
	cases := []struct {
		cat          CategoryRule
		kind         TxKind
		order, funds string
		reason       string
	}{
		{CategoryStandard, Purchase, "2026-08-21 14:59", "2026-08-21 10:00",
			"order 14:59 IST on Fri 21-Aug-2026; funds realised by then; both in before the 15:00 cut-off on business day Fri 21-Aug-2026 → NAV of 21-Aug-2026"},
		{CategoryStandard, Purchase, "2026-08-21 10:00", "2026-08-21 15:00",
			"order 10:00 IST on Fri 21-Aug-2026; funds realised 15:00 IST same day; 15:00 is not before the 15:00 cut-off → next business day Mon 24-Aug-2026 → NAV of 24-Aug-2026"},
		{CategoryStandard, SIP, "2026-01-14 10:00", "2026-01-15 10:00",
			"order 10:00 IST on Wed 14-Jan-2026; funds realised 10:00 IST on Thu 15-Jan-2026; Thu 15-Jan-2026 is a holiday → next business day Fri 16-Jan-2026 → NAV of 16-Jan-2026"},
		{CategoryStandard, Purchase, "2026-08-22 10:00:30", "2026-08-22 10:00",
			"order 10:00:30 IST on Sat 22-Aug-2026; funds realised by then; Sat 22-Aug-2026 is a weekend day → next business day Mon 24-Aug-2026 → NAV of 24-Aug-2026"},
		{CategoryLiquid, Purchase, "2026-08-21 14:00", "2026-08-21 14:00",
			"liquid/overnight order 14:00 IST on Fri 21-Aug-2026; funds realised by then; 14:00 is not before the 13:30 cut-off → the calendar day before the next business day Mon 24-Aug-2026 → NAV of 23-Aug-2026 (Sun)"},
		{CategoryLiquid, Purchase, "2026-08-21 10:00", "2026-08-21 10:00",
			"liquid/overnight order 10:00 IST on Fri 21-Aug-2026; funds realised by then; both in before the 13:30 cut-off on business day Fri 21-Aug-2026 → the calendar day before → NAV of 20-Aug-2026 (Thu)"},
		{CategoryStandard, Redemption, "2026-08-21 15:00", "",
			"redemption request 15:00 IST on Fri 21-Aug-2026 15:00 is not before the 15:00 cut-off → next business day Mon 24-Aug-2026 → NAV of 24-Aug-2026"},
		{CategoryStandard, SwitchOut, "2026-08-21 14:59:59.5", "",
			"redemption request 14:59:59.5 IST on Fri 21-Aug-2026 before the 15:00 cut-off on a business day → NAV of 21-Aug-2026"},
		{CategoryLiquid, Redemption, "2026-08-21 14:00", "",
			"liquid/overnight redemption request 14:00 IST on Fri 21-Aug-2026 before the 15:00 cut-off on a business day → the calendar day before the next business day Mon 24-Aug-2026 → NAV of 23-Aug-2026 (Sun)"},
	}
	for _, c := range cases {
		got, err := ApplicableNAVDate(c.cat, c.kind, ts(t, c.order), ts(t, c.funds), cal)
		if err != nil {
			t.Fatal(err)
		}
		if got.Reason != c.reason {
			t.Errorf("reason\n got %s\nwant %s", got.Reason, c.reason)
		}
	}
}

func TestApplicableNAVDateErrors(t *testing.T) {
	cal := realCalendar(t)
	at := ts(t, "2026-08-21 10:00")
	cases := []struct {
		name         string
		cat          CategoryRule
		kind         TxKind
		order, funds time.Time
		cal          *Calendar
		is           error
	}{
		{"nil calendar", CategoryStandard, Purchase, at, at, nil, nil},
		{"unknown category rule", CategoryRule(7), Purchase, at, at, cal, nil},
		{"zero order time", CategoryStandard, Redemption, time.Time{}, at, cal, nil},
		{"purchase without funds", CategoryStandard, Purchase, at, time.Time{}, cal, ErrFundsNotRealised},
		{"liquid SIP without funds", CategoryLiquid, SIP, at, time.Time{}, cal, ErrFundsNotRealised},
		{"IDCW reinvestment has no cut-off", CategoryStandard, IDCWReinvest, at, at, cal, nil},
		{"zero kind", CategoryStandard, TxKind(0), at, at, cal, nil},
		{"unknown kind", CategoryStandard, TxKind(99), at, at, cal, nil},
	}
	for _, c := range cases {
		_, err := ApplicableNAVDate(c.cat, c.kind, c.order, c.funds, c.cal)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("%s: %v, want %v", c.name, err, c.is)
		}
	}
}

func TestCategoryRuleFor(t *testing.T) {
	cases := map[string]CategoryRule{
		"Open Ended Schemes(Debt Scheme - Liquid Fund)":                     CategoryLiquid,
		"Open Ended Schemes(Debt Scheme - Overnight Fund)":                  CategoryLiquid,
		"Open Ended Schemes(Income/Debt Oriented Schemes - Liquid Fund)":    CategoryLiquid,
		"Open Ended Schemes(Income/Debt Oriented Schemes - Overnight Fund)": CategoryLiquid,
		"Open Ended Schemes (Liquid)":                                       CategoryLiquid,
		"Open Ended Schemes ( Debt Scheme - Overnight Fund )":               CategoryLiquid,
		"liquid":    CategoryLiquid,
		"overnight": CategoryLiquid,
		"LIQUID":    CategoryLiquid,
		"Overnight": CategoryLiquid,
		"Open Ended Schemes(Debt Scheme - Money Market Fund)": CategoryStandard,
		"Open Ended Schemes (Money Market)":                   CategoryStandard,
		"Open Ended Schemes(Equity Scheme - Large Cap Fund)":  CategoryStandard,
		"Debt Scheme - Ultra Short Duration Fund":             CategoryStandard,
		"Illiquid credit opportunities":                       CategoryStandard,
		"":                                                    CategoryStandard,
	}
	for in, want := range cases {
		if got := CategoryRuleFor(in); got != want {
			t.Errorf("CategoryRuleFor(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestAnswerNAVDate(t *testing.T) {
	cal := realCalendar(t)
	a, err := AnswerNAVDate("Debt Scheme - Liquid Fund", Purchase, ts(t, "2026-08-21T08:30:00Z"), ts(t, "2026-08-21T04:30:00Z"), cal)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"nav_date":"2026-08-23","rule":"liquid_1_30pm","reason":"liquid/overnight order 14:00 IST on Fri 21-Aug-2026; funds realised by then; 14:00 is not before the 13:30 cut-off → the calendar day before the next business day Mon 24-Aug-2026 → NAV of 23-Aug-2026 (Sun)","order_time_ist":"2026-08-21T14:00:00+05:30","funds_time_ist":"2026-08-21T10:00:00+05:30","category":"Debt Scheme - Liquid Fund","type":"purchase"}`
	if string(b) != want {
		t.Errorf("json\n got %s\nwant %s", b, want)
	}

	r, err := AnswerNAVDate("Equity Scheme - Flexi Cap Fund", Redemption, ts(t, "2026-08-21 15:00"), time.Time{}, cal)
	if err != nil {
		t.Fatal(err)
	}
	if r.NAVDate != "2026-08-24" || r.Rule != RuleRedemption3PM || r.FundsTimeIST != "" || r.Type != "redemption" || r.OrderTimeIST != "2026-08-21T15:00:00+05:30" {
		t.Errorf("redemption answer %+v", r)
	}
	if _, err := AnswerNAVDate("equity", Purchase, ts(t, "2026-08-21 15:00"), time.Time{}, cal); !errors.Is(err, ErrFundsNotRealised) {
		t.Errorf("want ErrFundsNotRealised, got %v", err)
	}
}

func TestIST(t *testing.T) {
	_, off := time.Date(2026, 8, 21, 0, 0, 0, 0, IST()).Zone()
	if off != 5*3600+30*60 {
		t.Errorf("IST offset %d", off)
	}
	if got := time.Date(2026, 8, 21, 9, 29, 0, 0, time.UTC).In(IST()).Format("15:04"); got != "14:59" {
		t.Errorf("09:29Z in IST = %s", got)
	}
}
