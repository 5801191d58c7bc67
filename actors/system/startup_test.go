package system

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A data dir another member holds is refused at once, naming its pid, and
// is free again once that member stops.
func TestDataDirInUseIsRefusedAtOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	m, _ := startMemberOn(t, dir)
	_, err := Start(memberConfig(dir))
	want := "data dir " + dir + " is in use by another member (pid " + strconv.Itoa(os.Getpid()) + ")"
	if err == nil || err.Error() != want {
		t.Fatalf("second member on the same data dir: %v, want %q", err, want)
	}
	m.Stop()
	m2, err := Start(memberConfig(dir))
	if err != nil {
		t.Fatalf("after the first stopped: %v", err)
	}
	m2.Stop()
}

// A URL the member cannot serve stops it before the data dir is made.
func TestBadURLsAreRefusedBeforeTheDataDir(t *testing.T) {
	for _, c := range []struct {
		set  func(*Config)
		want string
	}{
		{func(c *Config) { c.ListenClientURLs = []string{"https://127.0.0.1:0"} }, "--listen-client-urls: only http:// URLs are served: https://127.0.0.1:0"},
		{func(c *Config) { c.ListenPeerURLs = []string{"http://example.com:2380"} }, "--listen-peer-urls: expected IP in URL for binding (http://example.com:2380)"},
		{func(c *Config) { c.ListenMetricsURLs = []string{"unix://x:1"} }, "--listen-metrics-urls: only http:// URLs are served: unix://x:1"},
		{func(c *Config) { c.ListenClientURLs = []string{"http://127.0.0.1"} }, "--listen-client-urls: http://127.0.0.1: address 127.0.0.1: missing port in address"},
		{func(c *Config) { c.WatchHistory = -1 }, "--watch-history must be >0 (set to -1)"},
		{func(c *Config) { c.WatchMaxWait = -time.Second }, "--watch-max-wait must be >0 (set to -1s)"},
	} {
		dir := filepath.Join(t.TempDir(), "data")
		cfg := memberConfig(dir)
		c.set(&cfg)
		if _, err := Start(cfg); err == nil || err.Error() != c.want {
			t.Errorf("got %v, want %q", err, c.want)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("%q: the data dir was made (%v)", c.want, err)
		}
	}
}

// A busy client port stops the start before the data dir is made.
func TestBusyPortIsRefusedBeforeTheDataDir(t *testing.T) {
	_, addr := startMember(t)
	dir := filepath.Join(t.TempDir(), "data")
	cfg := memberConfig(dir)
	cfg.ListenClientURLs = []string{"http://" + addr}
	if _, err := Start(cfg); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("busy port: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the data dir was made (%v)", err)
	}
}
