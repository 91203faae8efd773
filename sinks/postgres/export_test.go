package postgres

// SQLFactsPending is the facts relay's query, for the plan test.
const SQLFactsPending = sqlFactsPending

var RegisterNumeric = registerNumeric

var AppendNAVCopy = appendNAVCopy
