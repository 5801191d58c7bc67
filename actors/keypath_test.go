package actors

import (
	"path"
	"testing"
)

func TestCleanKey(t *testing.T) {
	for in, want := range map[string]string{
		"/":        "/",
		"":         "/",
		"/a":       "/a",
		"/a/b":     "/a/b",
		"a/b":      "/a/b",
		"/a/":      "/a",
		"//a//b/":  "/a/b",
		"/a/./b":   "/a/b",
		"/a/../b":  "/b",
		"/a/.b":    "/a/.b",
		"/a/..b":   "/a/..b",
		"/a/b.":    "/a/b.",
		"/..":      "/",
		"/_h/x":    "/_h/x",
		"/a/b/..":  "/a",
		"/a/b/../": "/a",
		"/.":       "/",
		"/a/.":     "/a",
	} {
		if got := CleanKey(in); got != want {
			t.Errorf("CleanKey(%q) = %q, want %q", in, got, want)
		}
		if got := path.Clean(path.Join("/", in)); got != want {
			t.Errorf("the table is wrong for %q: path.Clean gives %q", in, got)
		}
	}
}

// FuzzCleanKey holds CleanKey to its definition, and IsCleanKey to CleanKey.
func FuzzCleanKey(f *testing.F) {
	for _, s := range []string{"", "/", "/a/../b", "//x/", "/a/.b", "a", "/_x/./y/.."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		want := path.Clean(path.Join("/", p))
		if got := CleanKey(p); got != want {
			t.Fatalf("CleanKey(%q) = %q, want %q", p, got, want)
		}
		if IsCleanKey(p) != (want == p) {
			t.Fatalf("IsCleanKey(%q) = %v, CleanKey gives %q", p, IsCleanKey(p), want)
		}
	})
}
