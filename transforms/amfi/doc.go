// Package amfi parses AMFI NAV files: the daily NAVAll.txt
// (https://portal.amfiindia.com/spages/NAVAll.txt) in each of its layouts
// since 2017, and the per-day historical NAV report
// (DownloadNAVHistoryReport_Po.aspx).
//
// A file is a header line, then blocks:
//
//	Open Ended Schemes(Debt Scheme - Banking and PSU Fund)   block header: scheme type and category
//	Aditya Birla Sun Life Mutual Fund                        AMC line
//	119551;INF209KA12Z1;INF209KA13Z9;…;146.4745;21-Jun-2019  data rows, ';'-separated
//
// with empty (or single-space) separator lines in between. The layout is
// identified from the header's column names, never assumed from a position;
// a file whose header is not a known AMFI header (an HTML error page, an
// empty body, a changed layout) is refused as a whole with a *HeaderError,
// so that a broken download never loads as "0 rows".
//
// Parser streams the file one line at a time and returns every data row as
// a Row: a good row carries a fund.NAVRecord, a bad one a quarantine reason
// and a sentence saying what is wrong. Check runs the parser over a whole
// file, applies the file-level rules (the business date and the
// future-date limit) and summarises the result; it is the parser's own
// summary (the generator's tests use it). `fundflow check nav` runs
// transforms/nav.Check instead: nav-ingest's decoder and stage, streaming.
package amfi
