package httpfront

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/etcdv2/server/actors"
)

// serveMembers is etcd's membersHandler over the membership the raft actor
// has applied: the listing and the leader are read from its status; a change
// is asked of it, checked there against that membership (etcd's 404, 409 and
// 410) and answered once applied here.
func (s *Server) serveMembers(ctx *fasthttp.RequestCtx, rq *request, m method) {
	switch m {
	case mGET, mPOST, mDELETE, mPUT:
	default:
		methodNotAllowed(ctx, membersAllow)
		return
	}
	ctx.Response.Header.SetBytesV(hdrClusterID, s.cluster)
	if m != mGET {
		s.authProbe()
	}
	sub := strings.TrimPrefix(strings.TrimPrefix(string(rq.target.path), "/v2/members"), "/")
	switch m {
	case mGET:
		switch sub {
		case "":
			st := s.status()
			if st == nil {
				messageError(ctx, fasthttp.StatusInternalServerError, "Internal Server Error")
				return
			}
			b := append(make([]byte, 0, 256), `{"members":[`...)
			for i := range st.Members {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendMember(b, &st.Members[i])
			}
			ctx.SetContentType(appJSON)
			ctx.SetBody(append(b, "]}\n"...))
		case "leader":
			s.serveMembersLeader(ctx)
		default:
			messageError(ctx, fasthttp.StatusNotFound, "Not found")
		}
	case mPOST:
		urls, ok := peerURLsOf(ctx)
		if !ok {
			return
		}
		if mb, ok := s.changeMembers(ctx, actors.MemberAdd, Member{PeerURLs: urls}); ok {
			ctx.SetStatusCode(fasthttp.StatusCreated)
			ctx.SetContentType(appJSON)
			ctx.SetBody(append(appendMember(nil, &mb), '\n'))
		}
	case mDELETE:
		id, ok := memberID(ctx, sub)
		if !ok {
			return
		}
		if _, ok := s.changeMembers(ctx, actors.MemberRemove, Member{ID: id}); ok {
			ctx.SetStatusCode(fasthttp.StatusNoContent)
		}
	case mPUT:
		id, ok := memberID(ctx, sub)
		if !ok {
			return
		}
		urls, ok := peerURLsOf(ctx)
		if !ok {
			return
		}
		if _, ok := s.changeMembers(ctx, actors.MemberUpdate, Member{ID: id, PeerURLs: urls}); ok {
			ctx.SetStatusCode(fasthttp.StatusNoContent)
		}
	}
}

// changeMembers asks the raft actor for a change and waits for it to be
// applied here; a refusal or a timeout is answered as etcd does.
func (s *Server) changeMembers(ctx *fasthttp.RequestCtx, kind actors.MemberChangeKind, mb Member) (Member, bool) {
	c := &actors.MemberChange{Kind: kind, Member: mb, Done: make(chan *actors.MemberChange, 1)}
	t := getTimer(s.timeout)
	ok := s.send(s.pids.Raft, c) && await(c.Done, t)
	putTimer(t)
	switch {
	case !ok:
		messageError(ctx, fasthttp.StatusInternalServerError, "Internal Server Error")
		return mb, false
	case c.Status != 0:
		messageError(ctx, c.Status, c.Message)
		return mb, false
	}
	return c.Member, true
}

func (s *Server) serveMembersLeader(ctx *fasthttp.RequestCtx) {
	st := s.status()
	if st == nil || st.Lead == 0 {
		messageError(ctx, fasthttp.StatusServiceUnavailable, "During election")
		return
	}
	for i := range st.Members {
		if st.Members[i].ID == st.Lead {
			ctx.SetContentType(appJSON)
			ctx.SetBody(append(appendMember(nil, &st.Members[i]), '\n'))
			return
		}
	}
	messageError(ctx, fasthttp.StatusServiceUnavailable, "During election")
}

// appendMember renders a member as etcd's httptypes.Member; URL lists are
// never null.
func appendMember(b []byte, m *Member) []byte {
	b = append(b, `{"id":"`...)
	b = strconv.AppendUint(b, m.ID, 16)
	b = append(b, `","name":`...)
	b = actors.AppendJSONString(b, m.Name)
	b = append(b, `,"peerURLs":`...)
	b = appendStrings(b, m.PeerURLs)
	b = append(b, `,"clientURLs":`...)
	b = appendStrings(b, m.ClientURLs)
	return append(b, '}')
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = actors.AppendJSONString(b, s)
	}
	return append(b, ']')
}

// memberID is etcd's getID: the id after /v2/members/ in hex; nothing there
// is 405, an unparsable id 404.
func memberID(ctx *fasthttp.RequestCtx, sub string) (uint64, bool) {
	if sub == "" {
		httpError(ctx, fasthttp.StatusMethodNotAllowed, "Method Not Allowed")
		return 0, false
	}
	id, err := strconv.ParseUint(sub, 16, 64)
	if err != nil {
		messageError(ctx, fasthttp.StatusNotFound, "No such member: "+sub)
		return 0, false
	}
	return id, true
}

// peerURLsOf is etcd's unmarshalRequest of a member request: JSON only, the
// peer URLs checked and normalized as types.NewURLs does, sorted.
func peerURLsOf(ctx *fasthttp.RequestCtx) ([]string, bool) {
	ctype := string(ctx.Request.Header.ContentType())
	if i := strings.IndexByte(ctype, ';'); i >= 0 {
		ctype = strings.TrimSpace(strings.ToLower(ctype[:i]))
	}
	if ctype != "application/json" {
		messageError(ctx, fasthttp.StatusUnsupportedMediaType, "Bad Content-Type "+ctype+", accept application/json")
		return nil, false
	}
	var req struct {
		PeerURLs []string `json:"peerURLs"`
	}
	if err := json.Unmarshal(ctx.Request.Body(), &req); err != nil {
		messageError(ctx, fasthttp.StatusBadRequest, err.Error())
		return nil, false
	}
	urls, err := newURLs(req.PeerURLs)
	if err != nil {
		messageError(ctx, fasthttp.StatusBadRequest, err.Error())
		return nil, false
	}
	return urls, true
}

// newURLs checks peer URLs as etcd's types.NewURLs does and returns them in
// their canonical form, sorted.
func newURLs(strs []string) ([]string, error) {
	if len(strs) == 0 {
		return nil, errors.New("no valid URLs given")
	}
	out := make([]string, len(strs))
	for i, in := range strs {
		in = strings.TrimSpace(in)
		u, err := url.Parse(in)
		if err != nil {
			return nil, err
		}
		switch u.Scheme {
		case "http", "https":
			if _, _, err := net.SplitHostPort(u.Host); err != nil {
				return nil, fmt.Errorf(`URL address does not have the form "host:port": %s`, in)
			}
			if u.Path != "" {
				return nil, fmt.Errorf("URL must not contain a path: %s", in)
			}
		case "unix", "unixs":
		default:
			return nil, fmt.Errorf("URL scheme must be http, https, unix, or unixs: %s", in)
		}
		out[i] = u.String()
	}
	sort.Strings(out)
	return out, nil
}
