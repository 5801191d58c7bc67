package peers

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"time"

	"go.etcd.io/raft/v3/raftpb"
)

// Snapshots travel on their own connection, never in the stream's queue:
// hundreds of MB would hold up heartbeats and appends for the time they take,
// and a queue bounded in messages would not bound them in bytes.

// sendSnapshot hands m to the peer's snapshot sender. raft sends one and
// waits for its status; should another come meanwhile, it fails at once.
func (p *peer) sendSnapshot(m *raftpb.Message) {
	select {
	case p.snaps <- m:
	default:
		p.log.Warn().Uint64("index", m.GetSnapshot().GetMetadata().GetIndex()).Msg("snapshot dropped: another one is in flight")
		p.t.cfg.SnapshotStatus(p.id, false)
	}
}

func (p *peer) snapLoop() {
	defer p.wg.Done()
	for {
		select {
		case <-p.ctx.Done():
			return
		case m := <-p.snaps:
			start := time.Now()
			size := len(m.GetSnapshot().GetData())
			index := m.GetSnapshot().GetMetadata().GetIndex()
			err := p.postSnapshot(m)
			if ctxStopped(p.ctx) {
				return // removed or stopped: nobody waits for the status
			}
			if err != nil {
				p.log.Warn().Err(err).Uint64("index", index).Int("bytes", size).Msg("snapshot not delivered")
				p.unreachable()
				p.t.cfg.SnapshotStatus(p.id, false)
				continue
			}
			p.log.Info().Uint64("index", index).Int("bytes", size).Dur("took", time.Since(start)).Msg("snapshot delivered")
			p.t.cfg.SnapshotStatus(p.id, true)
		}
	}
}

// postSnapshot sends m to the first of the peer's URLs that takes it.
func (p *peer) postSnapshot(m *raftpb.Message) error {
	prefix, err := appendFrame(nil, withoutData(m), p.t.cfg.MaxFrame)
	if err != nil {
		return err
	}
	data := m.GetSnapshot().GetData()
	prefix = binary.BigEndian.AppendUint64(prefix, uint64(len(data)))
	urls := *p.urls.Load()
	for _, u := range urls {
		if err = p.postSnapshotTo(u, prefix, data); err == nil || ctxStopped(p.ctx) {
			return err
		}
	}
	return err
}

func (p *peer) postSnapshotTo(u string, prefix, data []byte) error {
	ctx, cancel := context.WithCancel(p.ctx)
	defer cancel()
	// No deadline for the whole transfer (its size is unbounded), but
	// each read of the body must follow the last within WriteTimeout, and
	// the answer must come within it after the last.
	body := &progressReader{
		r:     io.MultiReader(bytes.NewReader(prefix), bytes.NewReader(data)),
		stall: time.AfterFunc(p.t.cfg.WriteTimeout, cancel),
		d:     p.t.cfg.WriteTimeout,
	}
	defer body.stall.Stop()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u+snapshotPath, body)
	if err != nil {
		return err
	}
	req.ContentLength = int64(len(prefix) + len(data))
	p.t.setHeaders(req, p.id)
	resp, err := p.t.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", u, err)
	}
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("%s refused the snapshot: %s: %s", u, resp.Status, readReason(resp.Body))
	}
	resp.Body.Close()
	p.sent.Add(float64(req.ContentLength))
	return nil
}

// progressReader rearms its stall timer on every read.
type progressReader struct {
	r     io.Reader
	stall *time.Timer
	d     time.Duration
}

func (r *progressReader) Read(b []byte) (int, error) {
	r.stall.Reset(r.d)
	return r.r.Read(b)
}
