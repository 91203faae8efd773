package clickhouse

// SetMaxHeldStrings lowers the string table's clearing threshold for a
// test; the returned function restores it.
func SetMaxHeldStrings(n int) (restore func()) {
	old := maxHeldStrings
	maxHeldStrings = n
	return func() { maxHeldStrings = old }
}
