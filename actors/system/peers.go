package system

import (
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/etcdv2/server/actors"
	"github.com/etcdv2/server/httpfront"
	"github.com/etcdv2/server/raftactor"
	"github.com/etcdv2/server/raftactor/peers"
	"github.com/rs/zerolog"
	"go.etcd.io/raft/v3/raftpb"
)

// peerSide is a member's side of the cluster: the transport to the other
// members and the server on the peer URLs that takes their messages. A
// member alone has none.
type peerSide struct {
	transport *peers.Transport
	srv       *http.Server // serves the peer listeners; Close closes them
}

// startPeers makes the transport to every other member and serves the peer
// listeners; what the peers send goes to the raft actor as messages.
func startPeers(log zerolog.Logger, lns []net.Listener, self httpfront.Member, clusterID uint64,
	members []httpfront.Member, root *actor.RootContext, raft *actor.PID) (*peerSide, error) {
	log = log.With().Str("component", "peers").Logger()
	t := peers.New(peers.Config{
		ID: self.ID, ClusterID: clusterID, Log: log,
		Deliver:        func(m *raftpb.Message) { root.Send(raft, &raftactor.Inbound{Msg: m}) },
		Unreachable:    func(id uint64) { root.Send(raft, &raftactor.PeerUnreachable{ID: id}) },
		SnapshotStatus: func(id uint64, ok bool) { root.Send(raft, &raftactor.SnapshotSent{ID: id, OK: ok}) },
	})
	for _, m := range members {
		if m.ID == self.ID {
			continue
		}
		if err := t.AddPeer(m.ID, m.PeerURLs); err != nil {
			t.Stop()
			return nil, err
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/raft/", t.Handler())
	// The members as this member was started with them, as /v2/members
	// lists them.
	mux.Handle(peerMembersPath, membersHandler(clusterID, func() []httpfront.Member { return members }))
	p := &peerSide{transport: t, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}}
	for _, ln := range lns {
		go func() {
			if err := p.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error().Err(err).Str("addr", ln.Addr().String()).Msg("peer listener stopped")
			}
		}()
	}
	log.Info().Str("id", actors.HexID(self.ID)).Int("peers", len(members)-1).Msg("peer transport started")
	return p, nil
}

// stop closes the peer listeners and the transport's connections.
func (p *peerSide) stop() {
	if p == nil {
		return
	}
	p.srv.Close()
	p.transport.Stop()
}
