package system

import (
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/etcdv2/server/actors"
	"github.com/etcdv2/server/raftactor"
	"github.com/etcdv2/server/raftactor/peers"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"go.etcd.io/raft/v3/raftpb"
)

// peerSide is a member's side of the cluster: the transport to the other
// members and the server on the peer URLs that takes their messages.
type peerSide struct {
	transport *peers.Transport
	srv       *http.Server // serves the peer listeners; Close closes them
}

// startPeers makes the transport, to no peer yet, and serves the peer
// listeners; what the peers send goes to the raft actor as messages.
func startPeers(log zerolog.Logger, lns []net.Listener, self actors.Member, clusterID uint64,
	root *actor.RootContext, raft *actor.PID, reg prometheus.Registerer) *peerSide {
	log = log.With().Str("component", "peers").Logger()
	t := peers.New(peers.Config{
		ID: self.ID, ClusterID: clusterID, Log: log,
		Deliver:        func(m *raftpb.Message) { root.Send(raft, &raftactor.Inbound{Msg: m}) },
		Unreachable:    func(id uint64) { root.Send(raft, &raftactor.PeerUnreachable{ID: id}) },
		SnapshotStatus: func(id uint64, ok bool) { root.Send(raft, &raftactor.SnapshotSent{ID: id, OK: ok}) },
		Removed:        func() { root.Send(raft, &raftactor.RemovedByPeer{}) },
		Metrics:        reg,
	})
	mux := http.NewServeMux()
	mux.Handle("/raft/", t.Handler())
	// The members as this member has applied them, as /v2/members lists
	// them: a joining member finds itself there.
	mux.Handle(peerMembersPath, membersHandler(clusterID, appliedMembers(root, raft)))
	p := &peerSide{transport: t, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}}
	for _, ln := range lns {
		go func() {
			if err := p.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error().Err(err).Str("addr", ln.Addr().String()).Msg("peer listener stopped")
			}
		}()
	}
	log.Info().Str("id", actors.HexID(self.ID)).Msg("peer transport started")
	return p
}

// stop closes the peer listeners and the transport's connections.
func (p *peerSide) stop() {
	if p == nil {
		return
	}
	p.srv.Close()
	p.transport.Stop()
}
