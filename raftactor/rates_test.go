package raftactor

import (
	"testing"
	"time"
)

func TestAppendRates(t *testing.T) {
	var q appendRates
	if p, b := q.rates(0); p != 0 || b != 0 {
		t.Fatalf("empty: %v %v", p, b)
	}
	ms := int64(time.Millisecond)
	// 300 appends of 100 bytes, 10 ms apart: the window keeps the last 200,
	// which span 1.99 s.
	for i := int64(0); i < 300; i++ {
		q.add(i*10*ms, 100)
	}
	last := int64(299 * 10 * ms)
	p, b := q.rates(last)
	if want := 200 / 1.99; p < want-1e-9 || p > want+1e-9 || b < 100*want-1e-6 || b > 100*want+1e-6 {
		t.Fatalf("rates %v %v, want %v and 100 times that", p, b, want)
	}
	// A second after the last append the rates are 0, as etcd's.
	if p, b := q.rates(last + int64(time.Second) + 1); p != 0 || b != 0 {
		t.Fatalf("after a quiet second: %v %v", p, b)
	}
	if q.n != 0 {
		t.Fatal("the window was not cleared")
	}
}
