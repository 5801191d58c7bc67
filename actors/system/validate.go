package system

import (
	"errors"
	"fmt"
	"net"
	"net/url"
)

// Validate checks what the member will bind and the values it runs with,
// before anything is read, bound or written: a bad URL is found at once, not
// after the data dir and raft exist.
func (c *Config) Validate() error {
	for _, set := range []struct {
		flag string
		urls []string
	}{
		{"--listen-client-urls", c.ListenClientURLs},
		{"--listen-peer-urls", c.ListenPeerURLs},
		{"--listen-metrics-urls", c.ListenMetricsURLs},
	} {
		for _, raw := range set.urls {
			if err := checkBindURL(raw); err != nil {
				return fmt.Errorf("%s: %w", set.flag, err)
			}
		}
	}
	if len(c.ListenClientURLs) == 0 {
		return errors.New("--listen-client-urls: no URL to serve clients on")
	}
	switch {
	case c.WatchHistory < 0:
		return fmt.Errorf("--watch-history must be >0 (set to %d)", c.WatchHistory)
	case c.WatchMaxWait < 0:
		return fmt.Errorf("--watch-max-wait must be >0 (set to %v)", c.WatchMaxWait)
	case c.HeartbeatInterval <= 0 || c.ElectionTimeout < 5*c.HeartbeatInterval:
		return fmt.Errorf("--election-timeout[%v] should be at least as 5 times as --heartbeat-interval[%v]", c.ElectionTimeout, c.HeartbeatInterval)
	case c.DataDir == "":
		return errors.New("--data-dir is empty")
	}
	return nil
}

// checkBindURL is etcd's checkBindURLs for one URL, narrowed to what this
// server serves: http, on an IP address or localhost, with a port.
func checkBindURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Scheme != "http" {
		return errors.New("only http:// URLs are served: " + raw)
	}
	host, _, err := net.SplitHostPort(u.Host)
	if err != nil {
		return fmt.Errorf("%s: %w", raw, err)
	}
	if host != "localhost" && net.ParseIP(host) == nil {
		return fmt.Errorf("expected IP in URL for binding (%s)", raw)
	}
	return nil
}
