package datamove

// SetRangeRows sets how many rows a key range of the checksums covers, for
// a test to have many ranges with few rows; it returns the function that
// restores it.
func SetRangeRows(n int64) (restore func()) {
	old := rangeRows
	rangeRows = n
	return func() { rangeRows = old }
}
