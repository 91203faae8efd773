package analytics

// MonthsBack is monthsBack for the tests.
var MonthsBack = monthsBack
