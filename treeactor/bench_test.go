package treeactor

import (
	"runtime"
	"strconv"
	"testing"

	"github.com/etcdv2/server/actors"
)

func benchKeys(n int, prefix string) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = prefix + strconv.Itoa(i)
	}
	return keys
}

// BenchmarkSet creates new keys (the bulk-load case): one insert into the
// tree (its leaf in place, no view being open) and the event per write.
func BenchmarkSet(b *testing.B) {
	keys := benchKeys(b.N, "/bench/key")
	s := NewStore()
	c := set("", "some value of moderate length")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Path = keys[i]
		if _, err := s.Set(c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSetExisting overwrites a fixed set of keys.
func BenchmarkSetExisting(b *testing.B) {
	keys := benchKeys(1000, "/bench/key")
	s := NewStore()
	c := set("", "some value of moderate length")
	for _, k := range keys {
		c.Path = k
		s.Set(c)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Path = keys[i%len(keys)]
		if _, err := s.Set(c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetOne renders one key of a 10,000-key store into a reused buffer.
func BenchmarkGetOne(b *testing.B) {
	keys := benchKeys(10000, "/bench/key")
	s := NewStore()
	for _, k := range keys {
		s.Set(set(k, "some value of moderate length"))
	}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var err *actors.Error
		buf, err = s.AppendGet(buf[:0], keys[i%len(keys)], false, false, now)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func recursiveStore() *Store {
	s := NewStore()
	for d := 0; d < 10; d++ {
		for k := 0; k < 100; k++ {
			s.Set(set("/dir"+strconv.Itoa(d)+"/key"+strconv.Itoa(k), "value "+strconv.Itoa(k)))
		}
	}
	return s
}

// BenchmarkGetRecursive lists 1,000 keys in 10 directories.
func BenchmarkGetRecursive(b *testing.B) {
	s := recursiveStore()
	var buf []byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var err *actors.Error
		buf, err = s.AppendGet(buf[:0], "/", true, false, now)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkGetRecursiveSorted is the same listing in key order.
func BenchmarkGetRecursiveSorted(b *testing.B) {
	s := recursiveStore()
	var buf []byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var err *actors.Error
		buf, err = s.AppendGet(buf[:0], "/", true, true, now)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkLoad1M loads a million keys (100 directories of 10,000) and
// reports the heap it takes per key, and the snapshot's size and cost.
func BenchmarkLoad1M(b *testing.B) {
	const n = 1_000_000
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "/load/d" + strconv.Itoa(i%100) + "/key" + strconv.Itoa(i)
	}
	for i := 0; i < b.N; i++ {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		s := NewStore()
		c := set("", "value-0123456789")
		for _, k := range keys {
			c.Path = k
			s.Set(c)
		}
		runtime.GC()
		runtime.ReadMemStats(&m1)
		b.ReportMetric(float64(m1.HeapAlloc-m0.HeapAlloc)/n, "heapB/key")
		snap := s.Snapshot()
		b.ReportMetric(float64(len(snap))/n, "snapB/key")
		if _, err := RestoreStore(snap); err != nil {
			b.Fatal(err)
		}
		runtime.KeepAlive(s)
	}
}

// BenchmarkSnapshot200k times the serialization of a 200k-key queue (on a
// goroutine of its own: the tree only freezes it).
func BenchmarkSnapshot200k(b *testing.B) {
	s := NewStore()
	for i := 0; i < 200000; i++ {
		s.Apply(&actors.Command{Op: actors.OpCreate, Unique: true, Path: "/queue", Value: "0123456789012345678901234567890123456789012345678901234567890123"})
	}
	s.Snapshot()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = s.Snapshot()
	}
}

// BenchmarkRestore300k rebuilds a store of 300k keys in 1000 directories
// from its snapshot: what a restart costs the tree.
func BenchmarkRestore300k(b *testing.B) {
	s := NewStore()
	c := set("", "0123456789012345678901234567890123456789012345678901234567890123")
	for i := 0; i < 300000; i++ {
		c.Path = "/load/d" + strconv.Itoa(i%1000) + "/k" + strconv.Itoa(i)
		s.Set(c)
	}
	snap := s.Snapshot()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := RestoreStore(snap); err != nil {
			b.Fatal(err)
		}
	}
}
