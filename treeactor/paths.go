package treeactor

import (
	"strconv"

	"github.com/etcdv2/server/actors"
)

// minExpire is 2000-01-01T00:00:00Z in unix nanoseconds: etcd takes any
// earlier deadline for a mistake (a zero time serialized through JavaScript)
// and makes the node permanent.
const minExpire = 946684800 * int64(1e9)

func normalizeExpire(at int64) int64 {
	if at < minExpire {
		return 0
	}
	return at
}

// splitPath splits a clean path other than "/" into its parent directory and
// last component.
func splitPath(p string) (dir, name string) {
	i := len(p) - 1
	for i > 0 && p[i] != '/' {
		i--
	}
	if i == 0 {
		return "/", p[1:]
	}
	return p[:i], p[i+1:]
}

// childPath joins a directory path and a component name.
func childPath(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}

// uniquePath names an in-order key: the directory path followed by the new
// index zero-padded to 20 digits, as etcd's POST does.
func uniquePath(dir string, index uint64) string {
	var digits [20]byte
	for i := range digits {
		digits[i] = '0'
	}
	s := strconv.AppendUint(nil, index, 10)
	copy(digits[20-len(s):], s)
	return actors.CleanKey(dir + "/" + string(digits[:]))
}
