package peers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"go.etcd.io/raft/v3/raftpb"
)

// Config is what a member's transport needs. Only ID, ClusterID and Deliver
// are required; the callbacks are called from the transport's goroutines
// (and Unreachable / SnapshotStatus also from Send) and must not block long:
// the member turns them into actor messages.
type Config struct {
	ID, ClusterID uint64
	Log           zerolog.Logger
	// Deliver gets each message from a peer, in the order that peer sent
	// it. The message is the callee's.
	Deliver func(m *raftpb.Message)
	// Unreachable: a peer could not be reached, a connection to it broke or
	// its queue overflowed (raft's ReportUnreachable). At most once per
	// UnreachableEvery per peer: raft only needs to know.
	Unreachable func(id uint64)
	// SnapshotStatus: a MsgSnap was acknowledged by its receiver (ok) or
	// could not be delivered (raft's ReportSnapshot).
	SnapshotStatus func(id uint64, ok bool)
	// Removed: a peer refused this member's stream because the cluster
	// removed it (410 Gone, the answer to a sender RemovePeer was called
	// for). The member learns of its own removal so even when it missed the
	// entry that removed it.
	Removed func()

	QueueSize        int           // messages waiting per peer (4096)
	DialTimeout      time.Duration // connect and get the stream's answer (1s)
	WriteTimeout     time.Duration // a write, or a snapshot's progress or acknowledgement, stalled this long ends the connection (5s)
	BackoffMin       time.Duration // first pause before redialing a peer (50ms)
	BackoffMax       time.Duration // the pause doubles up to this (2s)
	UnreachableEvery time.Duration // minimum spacing of Unreachable reports per peer (300ms)
	MaxFrame         int           // largest message accepted or sent, marshaled (128 MiB)
	MaxSnapshot      int64         // largest snapshot data accepted (8 GiB)
	// Metrics is where the transport registers its etcd_network_peer_*
	// metrics (the member's registry); nil: nowhere.
	Metrics prometheus.Registerer
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 4096
	}
	def(&c.DialTimeout, time.Second)
	def(&c.WriteTimeout, 5*time.Second)
	def(&c.BackoffMin, 50*time.Millisecond)
	def(&c.BackoffMax, 2*time.Second)
	def(&c.UnreachableEvery, 300*time.Millisecond)
	c.BackoffMax = max(c.BackoffMax, c.BackoffMin)
	if c.MaxFrame <= 0 {
		c.MaxFrame = 128 << 20
	}
	if c.MaxSnapshot <= 0 {
		c.MaxSnapshot = 8 << 30
	}
	if c.Deliver == nil {
		c.Deliver = func(*raftpb.Message) {}
	}
	if c.Unreachable == nil {
		c.Unreachable = func(uint64) {}
	}
	if c.SnapshotStatus == nil {
		c.SnapshotStatus = func(uint64, bool) {}
	}
	if c.Removed == nil {
		c.Removed = func() {}
	}
	return c
}

// Transport carries one member's raft messages to its peers and hands
// theirs to Deliver. Its methods are safe for concurrent use.
type Transport struct {
	cfg    Config
	log    zerolog.Logger
	hexID  string
	epoch  time.Time // Unreachable spacing is measured on the monotonic clock from here
	client *http.Client
	httpT  *http.Transport
	m      *metrics

	// peers is replaced, never modified, so Send reads it without a lock.
	peers atomic.Pointer[map[uint64]*peer]

	mu      sync.Mutex // serializes changes to peers; guards the fields below
	stopped bool
	inAll   map[*inbound]struct{} // every running handler, ended by Stop
	inFrom  map[uint64]*inbound   // the current inbound stream per sender
	refused map[uint64]bool       // senders whose wrong cluster id was logged
	removed map[uint64]bool       // peers removed from the cluster: refused with 410
	inWG    sync.WaitGroup        // running handlers
}

// New makes a transport with no peers. It starts nothing until AddPeer.
func New(cfg Config) *Transport {
	cfg = cfg.withDefaults()
	t := &Transport{
		cfg:     cfg,
		hexID:   hexID(cfg.ID),
		epoch:   time.Now(),
		inAll:   map[*inbound]struct{}{},
		inFrom:  map[uint64]*inbound{},
		refused: map[uint64]bool{},
		removed: map[uint64]bool{},
		m:       newMetrics(cfg.Metrics),
	}
	t.log = cfg.Log.With().Str("member", t.hexID).Logger()
	// Snapshots only (streams dial their own connections): one connection
	// per snapshot, never pooled, so Stop leaves nothing idle behind.
	t.httpT = &http.Transport{
		DialContext:        (&net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 15 * time.Second}).DialContext,
		DisableKeepAlives:  true,
		DisableCompression: true,
		// A snapshot's acknowledgement comes after the receiver has
		// delivered it.
		ResponseHeaderTimeout: cfg.WriteTimeout,
		WriteBufferSize:       64 << 10,
	}
	t.client = &http.Client{Transport: t.httpT}
	t.peers.Store(&map[uint64]*peer{})
	return t
}

// Send queues each message for its peer without blocking: a full queue drops
// the message (raft retransmits) and reports the peer unreachable. MsgSnap
// goes to the peer's snapshot sender instead. Messages are not modified.
func (t *Transport) Send(msgs []*raftpb.Message) {
	peers := *t.peers.Load()
	for _, m := range msgs {
		to := m.GetTo()
		p := peers[to]
		if p == nil {
			if e := t.log.Debug(); e.Enabled() {
				e.Str("to", hexID(to)).Stringer("type", m.GetType()).Bool("self", to == t.cfg.ID).Msg("message for no known peer dropped")
			}
			continue
		}
		switch m.GetType() {
		case raftpb.MsgSnap:
			p.sendSnapshot(m)
			continue
		case raftpb.MsgHeartbeat:
			p.heartbeatSent()
		}
		select {
		case p.queue <- m:
		default:
			p.overflow()
		}
	}
}

// AddPeer starts the stream and the snapshot sender for peer id, reachable
// at any of urls (http://host:port, tried in turn).
func (t *Transport) AddPeer(id uint64, urls []string) error {
	us, err := checkURLs(urls)
	if err != nil {
		return fmt.Errorf("peer %x: %w", id, err)
	}
	if id == 0 || id == t.cfg.ID {
		return fmt.Errorf("peer %x: not a peer id (this member is %x)", id, t.cfg.ID)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return errors.New("transport stopped")
	}
	old := *t.peers.Load()
	if old[id] != nil {
		return fmt.Errorf("peer %x: already added", id)
	}
	p := newPeer(t, id, us)
	next := make(map[uint64]*peer, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[id] = p
	t.peers.Store(&next)
	p.start()
	p.log.Info().Strs("urls", us).Msg("peer added")
	return nil
}

// UpdatePeer replaces a peer's URLs; its stream redials if they changed.
func (t *Transport) UpdatePeer(id uint64, urls []string) error {
	us, err := checkURLs(urls)
	if err != nil {
		return fmt.Errorf("peer %x: %w", id, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	p := (*t.peers.Load())[id]
	if p == nil {
		return fmt.Errorf("peer %x: unknown", id)
	}
	if slices.Equal(*p.urls.Load(), us) {
		return nil
	}
	p.urls.Store(&us)
	select {
	case p.redial <- struct{}{}:
	default:
	}
	p.log.Info().Strs("urls", us).Msg("peer urls updated")
	return nil
}

// ActiveSince is when the stream to the peer came up; the zero time while
// it is down or the peer is unknown (etcd's rafthttp ActiveSince).
func (t *Transport) ActiveSince(id uint64) time.Time {
	p := (*t.peers.Load())[id]
	if p == nil {
		return time.Time{}
	}
	if ns := p.upSince.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// RemovePeer stops a peer's goroutines and closes its connections, its
// inbound stream included; it returns once they are gone (promptly: every
// wait in them also watches the peer's context). Queued messages are dropped.
func (t *Transport) RemovePeer(id uint64) {
	t.mu.Lock()
	old := *t.peers.Load()
	p := old[id]
	if p == nil {
		t.mu.Unlock()
		return
	}
	next := make(map[uint64]*peer, len(old))
	for k, v := range old {
		if k != id {
			next[k] = v
		}
	}
	t.peers.Store(&next)
	if in := t.inFrom[id]; in != nil {
		in.cancel()
	}
	t.mu.Unlock()
	p.stop()
	p.log.Info().Msg("peer removed")
}

// Refuse removes the peer for good: the cluster removed it, and its
// streams are answered 410 Gone from now on, which tells it so.
func (t *Transport) Refuse(id uint64) {
	t.RemovePeer(id)
	t.mu.Lock()
	t.removed[id] = true
	t.mu.Unlock()
}

// Stop ends every goroutine and connection the transport started, the
// handlers of inbound requests included, and returns when they are gone.
// After Stop, Send drops everything and the handler answers 503.
func (t *Transport) Stop() {
	t.mu.Lock()
	if t.stopped {
		t.mu.Unlock()
		t.inWG.Wait()
		return
	}
	t.stopped = true
	peers := *t.peers.Load()
	t.peers.Store(&map[uint64]*peer{})
	for in := range t.inAll {
		in.cancel()
	}
	t.mu.Unlock()
	for _, p := range peers {
		p.cancel()
	}
	for _, p := range peers {
		p.wg.Wait()
	}
	t.inWG.Wait()
	t.httpT.CloseIdleConnections()
	t.log.Info().Msg("peer transport stopped")
}

// sinceEpoch is a monotonic timestamp, never 0.
func (t *Transport) sinceEpoch() int64 { return int64(time.Since(t.epoch)) + 1 }

func hexID(id uint64) string { return strconv.FormatUint(id, 16) }

// checkURLs accepts http://host:port URLs (no TLS yet), without a path.
func checkURLs(urls []string) ([]string, error) {
	if len(urls) == 0 {
		return nil, errors.New("no peer URL")
	}
	out := make([]string, 0, len(urls))
	for _, s := range urls {
		u, err := url.Parse(s)
		if err != nil {
			return nil, err
		}
		if u.Scheme != "http" || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" {
			return nil, fmt.Errorf("peer URL %q: want http://host:port", s)
		}
		out = append(out, "http://"+u.Host)
	}
	return out, nil
}

// ctxStopped tells a goroutine's own stop from a failure.
func ctxStopped(ctx context.Context) bool { return ctx.Err() != nil }
