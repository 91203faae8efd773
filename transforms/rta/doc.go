// Package rta reads and writes the registrars' (RTAs') mailback feeds: the
// holdings (AUM) files CAMS WBR22 and KFintech MFSD203 and the transaction
// files CAMS WBR2 and KFintech MFSD201.
//
// A feed is delimited text (comma or pipe, with or without double quotes)
// with a header row, optionally gzip- or zip-compressed. The layout is
// identified from the header's column names and every field is read by its
// column name, never by position, so an RTA adding, dropping or reordering
// columns changes nothing. A file whose header is no known layout (an HTML
// error page, an empty body, a different report) is refused as a whole.
//
// Parser streams a file one line at a time and returns every data line as a
// Row: a good row carries a fund.RTAHolding or fund.RTATransaction, a bad one
// a stable quarantine reason and a sentence saying what is wrong. Dates are
// DD-Mon-YYYY or DD/MM/YYYY; units, amounts and NAVs are read exactly as
// written (shopspring/decimal, never a binary float); a transaction type the
// RTA's code list does not know is quarantined with its code.
//
// Writer writes the same layouts; `fundflow gen rta` uses it to make
// realistic feeds from our own ledger (no real RTA file is public: they carry
// investors' personal data).
package rta
