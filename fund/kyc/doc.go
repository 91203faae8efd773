// Package kyc holds the pure rules of an investor's identity record: the
// formats of PAN, IFSC, email and mobile, the date of birth against the tax
// status (a minor needs a guardian), nominee shares (100 % or an explicit
// opt-out), the FATCA/CRS self-declaration (a TIN for every foreign tax
// residency) and the date a minor attains majority.
//
// Every rule reports a FieldError whose Field is a path into the investor's
// JSON document ("nominees[1].share", "fatca.tax_residencies[0].tin"), so an
// API can answer 422 with the exact field and a person can fix it.
//
// Like package fund it is pure: no I/O, no clock. The "today" a rule needs
// (is this person a minor?) is passed in.
package kyc
