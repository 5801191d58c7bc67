//go:build !unix

package httpfront

// fdLimit is unknown where there is no getrlimit; etcd leaves it out there too.
func fdLimit() (uint64, bool) { return 0, false }
