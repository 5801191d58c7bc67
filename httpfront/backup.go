package httpfront

import (
	"bufio"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/etcdv2/server/actors"
	"github.com/etcdv2/server/actors/backupfile"
)

// BackupPath is ours, not etcd's (etcd v2 had no online backup): GET streams
// the whole key space in package backupfile's format, taken at a
// linearizable point.
const BackupPath = "/etcdv2/backup"

var backupPath = []byte(BackupPath)

// backupWriteWindow is how long the client may take to read each chunk of
// the stream: the server's WriteTimeout would otherwise bound the whole
// backup, however big.
const backupWriteWindow = time.Minute

// serveBackup takes the tree through a quorum read, so the image holds every
// write acknowledged before the request arrived, then streams it. The frozen
// image costs the tree nothing while it is written: the tree goes on
// applying, copying only the pages it changes.
func (s *Server) serveBackup(ctx *fasthttp.RequestCtx, m method) {
	if m != mGET {
		methodNotAllowed(ctx, "GET")
		return
	}
	ctx.Response.Header.SetBytesV(hdrClusterID, s.cluster)
	// Not pooled: a backup is rare, and the pooled reads stay plain gets.
	r := &actors.Read{Path: "/", Quorum: true, Backup: true, Now: s.now(), Done: make(chan *actors.Read, 1)}
	t := getTimer(s.timeout)
	ok := s.send(s.pids.Raft, r) && await(r.Done, t)
	putTimer(t)
	switch {
	case !ok:
		s.log.Warn().Str("op", "backup").Dur("timeout", s.timeout).Msg("request timed out")
		s.writeKeyError(ctx, errTimeout())
		return
	case r.Err != nil:
		s.writeKeyError(ctx, r.Err)
		return
	case r.Image == nil:
		s.writeKeyError(ctx, actors.NewError(actors.EcodeRaftInternal, "backup answered without an image", r.EtcdIndex))
		return
	}
	h := &ctx.Response.Header
	ctx.SetContentType("application/octet-stream")
	setUint(h, hdrEtcdIndex, r.EtcdIndex)
	setUint(h, hdrRaftIndex, r.RaftIndex)
	setUint(h, hdrRaftTerm, r.RaftTerm)
	head := backupfile.Header{EtcdIndex: r.EtcdIndex, RaftIndex: r.RaftIndex, RaftTerm: r.RaftTerm, Taken: r.Now}
	img, log, start := r.Image, s.log, time.Now()
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		dw := &deadlineWriter{w: w, ctx: ctx}
		bw, err := backupfile.NewWriter(dw, head)
		var n int64
		if err == nil {
			if n, err = img.WriteTo(bw); err == nil {
				err = bw.Close()
			}
		}
		if err == nil {
			err = w.Flush()
		}
		if err != nil {
			// The client sees a stream without its trailer, which it
			// refuses.
			log.Warn().Err(err).Uint64("etcdIndex", head.EtcdIndex).Int64("bytes", n).Msg("backup cut short")
			return
		}
		log.Info().Uint64("etcdIndex", head.EtcdIndex).Uint64("raftIndex", head.RaftIndex).Int64("bytes", n).
			Dur("took", time.Since(start)).Msg("backup sent")
	})
}

// deadlineWriter gives the connection a fresh write deadline before each
// chunk, so a big backup to a slow but live client is not cut off.
type deadlineWriter struct {
	w   *bufio.Writer
	ctx *fasthttp.RequestCtx
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	// Without a connection (a handler driven by a test) the server's own
	// deadline stays.
	_ = d.ctx.SetWriteDeadline(time.Now().Add(backupWriteWindow))
	return d.w.Write(p)
}
