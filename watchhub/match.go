package watchhub

import (
	"strings"

	"github.com/etcdv2/server/actors"
)

// isUnder reports whether key lies strictly below the directory dir.
func isUnder(dir, key string) bool {
	if dir == "/" {
		return len(key) > 1
	}
	return len(key) > len(dir) && key[len(dir)] == '/' && key[:len(dir)] == dir
}

// hiddenBelow reports whether key, which lies below dir, passes through a
// component starting with '_' on the way down from dir: etcd does not show
// such a key to a recursive watcher on dir, only to one on the key itself.
func hiddenBelow(dir, key string) bool {
	rest := key
	if dir != "/" {
		rest = key[len(dir):]
	}
	return strings.Contains(rest, "/_")
}

// scanMatch is etcd's test when it answers a watch from the history: the key
// itself, anything below it for a recursive watch (hidden keys included), or
// the delete or expiry of a directory whose key prefixes the watched path.
func scanMatch(p string, recursive bool, e *actors.Event) bool {
	if e == nil || e.Refresh || e.Node == nil {
		return false
	}
	key := e.Node.Key
	if key == p || (recursive && isUnder(p, key)) {
		return true
	}
	if (e.Action == actors.ActionDelete || e.Action == actors.ActionExpire) &&
		e.PrevNode != nil && e.PrevNode.Dir && strings.HasPrefix(p, e.PrevNode.Key) {
		return true
	}
	return false
}

// liveMatch is the test a registered watcher is notified by: its own key,
// a visible key below it when recursive, or a removal that took its path
// with a directory. A lagging stream is refilled by the same test, so it
// receives exactly what it would have received with room in its sink.
func liveMatch(w *watcher, e *actors.Event) bool {
	if e == nil || e.Refresh || e.Node == nil || e.Index < w.next {
		return false
	}
	key := e.Node.Key
	if key == w.path {
		return true
	}
	if w.recursive && isUnder(w.path, key) && !hiddenBelow(w.path, key) {
		return true
	}
	for _, r := range e.Removed {
		if r == w.path {
			return true
		}
	}
	return false
}
