package fund

import "strings"

// FormatINR writes an amount as rupees with Indian digit grouping (the last
// three digits, then groups of two: lakh, crore): ₹1,23,45,678.90. The
// amount is already at its scale (2 decimals), so nothing is rounded here.
func FormatINR(a Amount) string {
	s := a.String() // "-1234567.80": StringFixed(2)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	b.WriteString("₹")
	b.WriteString(GroupIndian(whole))
	b.WriteByte('.')
	b.WriteString(frac)
	return b.String()
}

// GroupIndian inserts commas into a string of digits the Indian way:
// "1234567" → "12,34,567".
func GroupIndian(digits string) string {
	if len(digits) <= 3 {
		return digits
	}
	head, tail := digits[:len(digits)-3], digits[len(digits)-3:]
	var parts []string
	for len(head) > 2 {
		parts = append([]string{head[len(head)-2:]}, parts...)
		head = head[:len(head)-2]
	}
	if head != "" {
		parts = append([]string{head}, parts...)
	}
	return strings.Join(append(parts, tail), ",")
}
