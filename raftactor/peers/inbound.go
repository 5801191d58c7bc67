package peers

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// inbound is one running handler, so Stop (or a newer stream from the same
// sender) can end it: a read deadline in the past unblocks its read. A
// stream's is its hijacked connection, a snapshot's its response controller.
type inbound struct {
	from uint64
	conn interface{ SetReadDeadline(time.Time) error }
}

func (in *inbound) cancel() { in.conn.SetReadDeadline(time.Now()) }

// Handler serves the peer side: POST /raft/stream and POST /raft/snapshot.
// Mount it on the member's peer listener for the /raft/ prefix.
func (t *Transport) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+streamPath, t.serveStream)
	mux.HandleFunc("POST "+snapshotPath, t.serveSnapshot)
	return mux
}

// admit checks the headers: the sender's cluster must be ours (412
// otherwise, logged once per sender) and the request must be for this
// member (a peer URL pointing at the wrong member).
func (t *Transport) admit(w http.ResponseWriter, r *http.Request) (uint64, bool) {
	from, err1 := strconv.ParseUint(r.Header.Get(hdrFrom), 16, 64)
	to, err2 := strconv.ParseUint(r.Header.Get(hdrTo), 16, 64)
	cid, err3 := strconv.ParseUint(r.Header.Get(hdrCluster), 16, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		http.Error(w, "missing or malformed raft headers", http.StatusBadRequest)
		return 0, false
	}
	if cid != t.cfg.ClusterID {
		t.mu.Lock()
		first := !t.refused[from] && len(t.refused) < 1024
		if first {
			t.refused[from] = true
		}
		t.mu.Unlock()
		if first {
			t.log.Error().Str("from", hexID(from)).Str("their_cluster", hexID(cid)).Str("our_cluster", hexID(t.cfg.ClusterID)).Str("remote", r.RemoteAddr).Msg("peer of another cluster refused")
		}
		http.Error(w, fmt.Sprintf("cluster id mismatch: member %x is in cluster %x, the request is for cluster %x", t.cfg.ID, t.cfg.ClusterID, cid), http.StatusPreconditionFailed)
		return 0, false
	}
	t.mu.Lock()
	removed := t.removed[from]
	t.mu.Unlock()
	if removed {
		http.Error(w, "the member has been permanently removed from the cluster", http.StatusGone)
		return 0, false
	}
	if to != t.cfg.ID {
		http.Error(w, fmt.Sprintf("member id mismatch: this is member %x, the request is for %x", t.cfg.ID, to), http.StatusPreconditionFailed)
		return 0, false
	}
	return from, true
}

// register records a running handler; false once stopped. A stream from a
// sender replaces (ends) its previous one: after a reconnect the old
// connection may linger half dead.
func (t *Transport) register(in *inbound, stream bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	if stream {
		if old := t.inFrom[in.from]; old != nil {
			old.cancel()
		}
		t.inFrom[in.from] = in
	}
	t.inAll[in] = struct{}{}
	t.inWG.Add(1)
	return true
}

func (t *Transport) unregister(in *inbound) {
	t.mu.Lock()
	delete(t.inAll, in)
	if t.inFrom[in.from] == in {
		delete(t.inFrom, in.from)
	}
	t.mu.Unlock()
	t.inWG.Done()
}

// serveStream takes the connection over and answers 101 at once, then reads
// frames from it for as long as the sender keeps it; each message goes to
// Deliver in order.
func (t *Transport) serveStream(w http.ResponseWriter, r *http.Request) {
	from, ok := t.admit(w, r)
	if !ok {
		return
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), streamProto) {
		w.Header().Set("Upgrade", streamProto)
		w.Header().Set("Connection", "Upgrade")
		http.Error(w, "a stream must ask to upgrade to "+streamProto, http.StatusUpgradeRequired)
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "cannot take the connection over", http.StatusInternalServerError)
		return
	}
	defer conn.Close()
	// The server's deadlines were for a request, not a stream's life.
	// Cleared before register, so a cancel (a past deadline) cannot be
	// undone.
	conn.SetDeadline(time.Time{})
	in := &inbound{from: from, conn: conn}
	if !t.register(in, true) {
		conn.Write([]byte("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
		return
	}
	defer t.unregister(in)
	if _, err := conn.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: " + streamProto + "\r\nConnection: Upgrade\r\n\r\n")); err != nil {
		return
	}
	log := t.log.With().Str("peer", hexID(from)).Logger()
	log.Info().Str("remote", r.RemoteAddr).Msg("inbound stream up")
	// brw.Reader holds whatever the server read past the request's head;
	// once it is empty, reads of the larger buffer go to the connection.
	err = t.readStream(bufio.NewReaderSize(brw.Reader, streamBuffer), log, from)
	log.Info().Err(err).Msg("inbound stream down")
}

func (t *Transport) readStream(br *bufio.Reader, log zerolog.Logger, from uint64) error {
	var buf []byte
	misaddressed := false
	received := t.m.received.WithLabelValues(hexID(from))
	for {
		var err error
		if buf, err = readFrame(br, buf, t.cfg.MaxFrame); err != nil {
			if errors.Is(err, errFrameTooLarge) {
				log.Warn().Err(err).Msg("malformed frame; closing the stream")
			}
			return err
		}
		received.Add(float64(frameHeader + len(buf)))
		m := new(raftpb.Message)
		if err := proto.Unmarshal(buf, m); err != nil {
			log.Warn().Err(err).Msg("malformed message; closing the stream")
			return err
		}
		if cap(buf) > 1<<20 {
			buf = nil
		}
		if m.GetTo() != t.cfg.ID {
			if !misaddressed {
				misaddressed = true
				log.Warn().Str("to", hexID(m.GetTo())).Msg("message for another member dropped")
			}
			continue
		}
		if m.GetType() == raftpb.MsgHeartbeatResp {
			if p := (*t.peers.Load())[from]; p != nil {
				p.heartbeatAnswered()
			}
		}
		t.cfg.Deliver(m)
	}
}

// serveSnapshot reads the whole snapshot, delivers it and only then answers
// 204, which the sender turns into SnapshotStatus(ok).
func (t *Transport) serveSnapshot(w http.ResponseWriter, r *http.Request) {
	from, ok := t.admit(w, r)
	if !ok {
		return
	}
	rc := http.NewResponseController(w)
	// A snapshot takes as long as its size needs, and the answer comes
	// after Deliver: the server's timeouts are for ordinary requests. A
	// stalled sender closes its side (its WriteTimeout); one that vanished
	// is found by TCP keep-alive. Cleared before register, as in serveStream.
	rc.SetReadDeadline(time.Time{})
	rc.SetWriteDeadline(time.Time{})
	in := &inbound{from: from, conn: rc}
	if !t.register(in, false) {
		http.Error(w, "transport stopped", http.StatusServiceUnavailable)
		return
	}
	defer t.unregister(in)
	log := t.log.With().Str("peer", hexID(from)).Logger()
	m, err := t.readSnapshot(bufio.NewReaderSize(r.Body, 64<<10), r.ContentLength)
	if err != nil {
		log.Warn().Err(err).Msg("inbound snapshot failed")
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	t.m.received.WithLabelValues(hexID(from)).Add(float64(max(r.ContentLength, 0)))
	t.cfg.Deliver(m)
	w.WriteHeader(http.StatusNoContent)
	log.Info().Uint64("index", m.GetSnapshot().GetMetadata().GetIndex()).Int("bytes", len(m.GetSnapshot().GetData())).Msg("inbound snapshot delivered")
}

func (t *Transport) readSnapshot(br *bufio.Reader, length int64) (*raftpb.Message, error) {
	hdr, err := readFrame(br, nil, t.cfg.MaxFrame)
	if err != nil {
		return nil, fmt.Errorf("snapshot header: %w", err)
	}
	m := new(raftpb.Message)
	if err := proto.Unmarshal(hdr, m); err != nil {
		return nil, fmt.Errorf("snapshot header: %w", err)
	}
	if m.GetType() != raftpb.MsgSnap || m.GetTo() != t.cfg.ID {
		return nil, fmt.Errorf("not a snapshot for member %x: %s to %x", t.cfg.ID, m.GetType(), m.GetTo())
	}
	var nb [8]byte
	if _, err := io.ReadFull(br, nb[:]); err != nil {
		return nil, fmt.Errorf("snapshot length: %w", err)
	}
	n := binary.BigEndian.Uint64(nb[:])
	if n > uint64(t.cfg.MaxSnapshot) {
		return nil, fmt.Errorf("snapshot of %d bytes beyond the limit of %d", n, t.cfg.MaxSnapshot)
	}
	// The length is allocated at once, so it must agree with what the
	// request says it carries.
	if want := int64(frameHeader+len(hdr)+8) + int64(n); length >= 0 && length != want {
		return nil, fmt.Errorf("snapshot of %d bytes in a request of %d", n, length)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(br, data); err != nil {
		return nil, fmt.Errorf("snapshot data: %w", err)
	}
	if m.Snapshot == nil {
		m.Snapshot = &raftpb.Snapshot{}
	}
	m.Snapshot.Data = data
	return m, nil
}
