package actors

import "path"

// CleanKey is etcd's clean(key), path.Clean(path.Join("/", p)): rooted, no
// empty, "." or ".." components, no trailing slash. The tree and the hub both
// key their state by it, so they must agree on it to the byte. Keys from the
// front are nearly always clean already, and then nothing is allocated.
func CleanKey(p string) string {
	if IsCleanKey(p) {
		return p
	}
	return path.Clean("/" + p)
}

// IsCleanKey reports whether CleanKey(p) == p.
func IsCleanKey(p string) bool {
	if len(p) == 0 || p[0] != '/' {
		return false
	}
	if len(p) == 1 {
		return true
	}
	if p[len(p)-1] == '/' {
		return false
	}
	for i := 1; i < len(p); {
		j := i
		for j < len(p) && p[j] != '/' {
			j++
		}
		switch p[i:j] {
		case "", ".", "..":
			return false
		}
		i = j + 1
	}
	return true
}
