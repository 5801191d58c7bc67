package actors

import (
	"slices"
	"testing"
)

func TestHexIDs(t *testing.T) {
	if got := HexIDs([]uint64{0x8ba94f6c95b1fc08, 1, 0}); !slices.Equal(got, []string{"8ba94f6c95b1fc08", "1", "0"}) {
		t.Fatalf("%q", got)
	}
	if got := HexIDs(nil); len(got) != 0 {
		t.Fatalf("%q", got)
	}
}
