package backup

import (
	"strings"
	"testing"
)

// TestDumpSums reads both ways the dump programs write rows (one per line,
// or many on the line of the INSERT), with quotes, backslashes,
// parentheses and semicolons inside strings, fed in pieces of every size:
// the sums are the same.
func TestDumpSums(t *testing.T) {
	manyPerLine := "-- dump\n" +
		"CREATE TABLE `empty` (\n  `id` int\n);\n" +
		"CREATE TABLE `users` (\n  `id` int\n);\n" +
		"INSERT INTO `users` VALUES (1,'a\\'b; (c)',NULL),(2,'back\\\\slash\\n','x'),(3,'',0x00FF);\n" +
		"INSERT INTO `users` VALUES (4,'it''s',1.5e3);\n" +
		"UNLOCK TABLES;\n"
	onePerLine := "-- dump\n" +
		"CREATE TABLE `empty` (\n  `id` int\n);\n" +
		"CREATE TABLE `users` (\n  `id` int\n);\n" +
		"INSERT INTO `users` VALUES\n(1,'a\\'b; (c)',NULL),\n(2,'back\\\\slash\\n','x'),\n(3,'',0x00FF);\n" +
		"INSERT INTO `users` VALUES\n(4,'it''s',1.5e3);\n" +
		"UNLOCK TABLES;\n"
	var want []Table
	for _, dump := range []string{manyPerLine, onePerLine} {
		for size := 1; size <= len(dump); size += 7 {
			d := newDumpSums()
			for s := dump; len(s) > 0; {
				n := min(size, len(s))
				d.Write([]byte(s[:n]))
				s = s[n:]
			}
			got := d.sums()
			if want == nil {
				want = got
				if len(got) != 2 || got[0].Name != "empty" || got[0].Rows != 0 || got[1].Name != "users" || got[1].Rows != 4 {
					t.Fatalf("sums %+v", got)
				}
			}
			if diff := compareSums(want, got); diff != "" {
				t.Fatalf("pieces of %d: %s", size, diff)
			}
		}
	}
	other := newDumpSums()
	other.Write([]byte(strings.Replace(onePerLine, "'x'", "'y'", 1)))
	if compareSums(want, other.sums()) == "" {
		t.Fatal("a changed value has the same checksum")
	}
}
