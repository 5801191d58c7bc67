package peers

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"go.etcd.io/raft/v3/raftpb"
)

const (
	streamPath   = "/raft/stream"
	snapshotPath = "/raft/snapshot"
	hdrFrom      = "X-Raft-From"
	hdrTo        = "X-Raft-To"
	hdrCluster   = "X-Raft-Cluster"
	streamBuffer = 32 << 10 // bytes written or read at a time on a stream
	// streamProto is what a stream's POST asks to upgrade to: after the
	// 101 answer, the connection carries frames and nothing else.
	streamProto = "etcdv2-raft-stream/1"
)

var errRedial = errors.New("peer URLs changed")

// peer is the sending side towards one member: a bounded queue drained by
// one stream goroutine, and a snapshot slot drained by another.
type peer struct {
	t      *Transport
	id     uint64
	log    zerolog.Logger
	urls   atomic.Pointer[[]string]
	queue  chan *raftpb.Message
	snaps  chan *raftpb.Message // one snapshot at a time
	redial chan struct{}        // UpdatePeer changed the URLs
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	lastUnreachable atomic.Int64 // sinceEpoch of the last report
	dropped         atomic.Uint64
	overflowing     atomic.Bool  // a full queue was logged; cleared once drained
	next            int          // the URL to try first (the last that worked); stream goroutine only
	upSince         atomic.Int64 // unix ns the stream came up; 0 while it is down
	heartbeatAt     atomic.Int64 // sinceEpoch of the oldest unanswered heartbeat; 0: none

	sent prometheus.Counter  // bytes, this peer's series
	rtt  prometheus.Observer // heartbeat round trips, this peer's series
}

func newPeer(t *Transport, id uint64, urls []string) *peer {
	p := &peer{
		t:      t,
		id:     id,
		log:    t.log.With().Str("peer", hexID(id)).Logger(),
		queue:  make(chan *raftpb.Message, t.cfg.QueueSize),
		snaps:  make(chan *raftpb.Message, 1),
		redial: make(chan struct{}, 1),
		sent:   t.m.sent.WithLabelValues(hexID(id)),
		rtt:    t.m.rtt.WithLabelValues(hexID(id)),
	}
	p.urls.Store(&urls)
	p.ctx, p.cancel = context.WithCancel(context.Background())
	return p
}

func (p *peer) start() {
	p.wg.Add(2)
	go p.streamLoop()
	go p.snapLoop()
}

func (p *peer) stop() {
	p.cancel()
	p.wg.Wait()
}

// unreachable tells raft, at most once per UnreachableEvery.
func (p *peer) unreachable() {
	now := p.t.sinceEpoch()
	last := p.lastUnreachable.Load()
	if last != 0 && now-last < int64(p.t.cfg.UnreachableEvery) {
		return
	}
	if p.lastUnreachable.CompareAndSwap(last, now) {
		p.t.cfg.Unreachable(p.id)
	}
}

// overflow: the queue is full (the peer is slow or down); the message is
// dropped. Logged once until the queue drains again.
func (p *peer) overflow() {
	p.dropped.Add(1)
	if !p.overflowing.Load() && p.overflowing.CompareAndSwap(false, true) {
		p.log.Warn().Int("queue", cap(p.queue)).Msg("peer queue full; dropping messages")
	}
	p.unreachable()
}

// drained is called by the stream when the queue is empty.
func (p *peer) drained() {
	if p.overflowing.Load() && p.overflowing.CompareAndSwap(true, false) {
		p.log.Info().Uint64("dropped_total", p.dropped.Load()).Msg("peer queue drained")
	}
}

// streamLoop keeps one stream to the peer up, redialing with exponential
// backoff. Up and down are logged once per episode.
func (p *peer) streamLoop() {
	defer p.wg.Done()
	backoff := p.t.cfg.BackoffMin
	down := false // a failure was logged and no stream has worked since
	for !ctxStopped(p.ctx) {
		s, u, err := p.connect()
		if err != nil {
			if ctxStopped(p.ctx) {
				return
			}
			p.unreachable()
			if !down {
				down = true
				p.log.Info().Err(err).Msg("peer stream down: cannot connect")
			} else if e := p.log.Debug(); e.Enabled() {
				e.Err(err).Dur("backoff", backoff).Msg("peer redial failed")
			}
			if !p.pause(backoff) {
				return
			}
			backoff = min(2*backoff, p.t.cfg.BackoffMax)
			continue
		}
		down = false
		backoff = p.t.cfg.BackoffMin
		p.log.Info().Str("url", u).Msg("peer stream up")
		p.upSince.Store(time.Now().UnixNano())
		err = s.pump(p)
		p.upSince.Store(0)
		// What the broken stream carried may be lost: no round trip is
		// measured across a reconnection.
		p.heartbeatAt.Store(0)
		s.close()
		if ctxStopped(p.ctx) {
			return
		}
		if errors.Is(err, errRedial) {
			p.log.Info().Msg("peer stream redialing: URLs changed")
			continue
		}
		down = true
		p.unreachable()
		p.log.Info().Err(err).Msg("peer stream down")
		if !p.pause(backoff) {
			return
		}
		backoff = min(2*backoff, p.t.cfg.BackoffMax)
	}
}

// pause waits d, dropping what is queued meanwhile: by the time a stream is
// back those messages are stale, and raft resends what still matters. New
// URLs end the pause: they may well be why the old ones failed.
func (p *peer) pause(d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return false
		case <-tm.C:
			return true
		case <-p.redial:
			return true
		case <-p.queue:
			p.dropped.Add(1)
		}
	}
}

// connect tries the peer's URLs in turn, the last one that worked first.
func (p *peer) connect() (*stream, string, error) {
	select {
	case <-p.redial: // the URLs loaded below are the new ones
	default:
	}
	urls := *p.urls.Load()
	var err error
	for i := range urls {
		k := (p.next + i) % len(urls)
		var s *stream
		if s, err = p.dialStream(urls[k]); err == nil {
			p.next = k
			return s, urls[k], nil
		}
		if ctxStopped(p.ctx) {
			break
		}
	}
	return nil, "", err
}

// stream is one outbound stream: a connection upgraded from an HTTP/1.1
// POST, on which frames are written as they are (no chunked encoding, no
// pipe between the writer and the connection).
type stream struct {
	conn     net.Conn
	done     chan struct{} // the peer closed the connection
	unwatch  func() bool   // stops closing the connection when the peer stops
	deadline time.Duration // a write that makes no progress this long fails
}

// dialStream connects to u and asks for the upgrade. The whole handshake is
// bounded by twice DialTimeout: the receiver answers at once, and a
// connection that breaks before it answers is noticed this soon, so a peer
// whose network comes back is redialed quickly.
func (p *peer) dialStream(u string) (*stream, error) {
	d := net.Dialer{Timeout: p.t.cfg.DialTimeout, KeepAlive: 15 * time.Second}
	conn, err := d.DialContext(p.ctx, "tcp", strings.TrimPrefix(u, "http://"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u, err)
	}
	unwatch := context.AfterFunc(p.ctx, func() { conn.Close() })
	fail := func(err error) (*stream, error) {
		unwatch()
		conn.Close()
		return nil, fmt.Errorf("%s: %w", u, err)
	}
	conn.SetDeadline(time.Now().Add(2 * p.t.cfg.DialTimeout))
	req, err := http.NewRequest(http.MethodPost, u+streamPath, nil)
	if err != nil {
		return fail(err)
	}
	p.t.setHeaders(req, p.id)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", streamProto)
	if err := req.Write(conn); err != nil {
		return fail(err)
	}
	br := bufio.NewReaderSize(conn, 512)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return fail(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		msg := readReason(resp.Body)
		if resp.StatusCode == http.StatusGone {
			p.t.cfg.Removed()
		}
		return fail(fmt.Errorf("refused the stream: %s: %s", resp.Status, msg))
	}
	conn.SetDeadline(time.Time{})
	s := &stream{conn: conn, done: make(chan struct{}), unwatch: unwatch, deadline: p.t.cfg.WriteTimeout}
	// The receiver never writes after its answer; reading tells when it
	// goes away even while nothing is being sent.
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		io.Copy(io.Discard, br)
		close(s.done)
	}()
	return s, nil
}

// Write gives a write WriteTimeout to make progress: beyond that the peer or
// the network is stuck, the write fails and the stream is closed.
func (s *stream) Write(b []byte) (int, error) {
	s.conn.SetWriteDeadline(time.Now().Add(s.deadline))
	return s.conn.Write(b)
}

func (s *stream) close() {
	s.unwatch()
	s.conn.Close()
	<-s.done
}

// pump writes queued messages as frames until the stream fails or the peer
// stops. It takes all that is queued before flushing, so a burst leaves in
// few writes and a lone message leaves at once.
func (s *stream) pump(p *peer) error {
	bw := bufio.NewWriterSize(s, streamBuffer)
	buf := make([]byte, 0, 4<<10)
	limit := p.t.cfg.MaxFrame
	for {
		var m *raftpb.Message
		select {
		case m = <-p.queue:
		case <-s.done:
			return errors.New("peer closed the stream")
		case <-p.redial:
			return errRedial
		case <-p.ctx.Done():
			return p.ctx.Err()
		}
		for m != nil {
			var err error
			if buf, err = appendFrame(buf[:0], m, limit); err != nil {
				// Not the peer's fault: drop it, keep the stream.
				p.log.Error().Err(err).Stringer("type", m.GetType()).Msg("message not sendable; dropped")
			} else if _, err := bw.Write(buf); err != nil {
				return err
			} else {
				p.sent.Add(float64(len(buf)))
			}
			if cap(buf) > 1<<20 {
				buf = make([]byte, 0, 4<<10)
			}
			select {
			case m = <-p.queue:
			default:
				m = nil
			}
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		p.drained()
	}
}

func (t *Transport) setHeaders(req *http.Request, to uint64) {
	req.Header.Set(hdrFrom, t.hexID)
	req.Header.Set(hdrTo, hexID(to))
	req.Header.Set(hdrCluster, hexID(t.cfg.ClusterID))
	req.Header.Set("Content-Type", "application/octet-stream")
}

// readReason is the start of a refusal's body, for the log.
func readReason(r io.ReadCloser) string {
	defer r.Close()
	b, _ := io.ReadAll(io.LimitReader(r, 512))
	return string(b)
}
