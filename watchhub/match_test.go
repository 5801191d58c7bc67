package watchhub

import "testing"

func TestHiddenBelow(t *testing.T) {
	for _, c := range []struct {
		dir, key string
		hidden   bool
	}{
		{"/", "/_a", true},
		{"/", "/a/_b", true},
		{"/", "/a/b", false},
		{"/a", "/a/_b", true},
		{"/a", "/a/b/_c/d", true},
		{"/a", "/a/b_c", false},
		{"/_a", "/_a/b", false},
		{"/_a/_b", "/_a/_b/c", false},
	} {
		if got := hiddenBelow(c.dir, c.key); got != c.hidden {
			t.Errorf("hiddenBelow(%q, %q) = %v", c.dir, c.key, got)
		}
	}
}

func TestIsUnder(t *testing.T) {
	for _, c := range []struct {
		dir, key string
		under    bool
	}{
		{"/", "/a", true},
		{"/", "/", false},
		{"/a", "/a/b", true},
		{"/a", "/a", false},
		{"/a", "/ab", false},
		{"/a/b", "/a/b/c/d", true},
	} {
		if got := isUnder(c.dir, c.key); got != c.under {
			t.Errorf("isUnder(%q, %q) = %v", c.dir, c.key, got)
		}
	}
}
