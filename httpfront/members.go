package httpfront

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/etcdv2/server/actors"
)

// errNoChange is the answer to every membership change for now: the raft
// actor cannot change the configuration yet.
const errNoChange = "membership change not supported yet"

// serveMembers is etcd's membersHandler: the listing and the leader are
// served; a change that would change nothing (an update to the same peer
// URLs) succeeds; duplicates and unknown ids get etcd's errors; anything else
// is refused.
func (s *Server) serveMembers(ctx *fasthttp.RequestCtx, rq *request, m method) {
	switch m {
	case mGET, mPOST, mDELETE, mPUT:
	default:
		methodNotAllowed(ctx, membersAllow)
		return
	}
	ctx.Response.Header.SetBytesV(hdrClusterID, s.cluster)
	sub := strings.TrimPrefix(strings.TrimPrefix(string(rq.target.path), "/v2/members"), "/")
	switch m {
	case mGET:
		switch sub {
		case "":
			b := append(make([]byte, 0, 256), `{"members":[`...)
			for i := range s.members {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendMember(b, &s.members[i])
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
		if s.peerURLTaken(urls, 0) {
			messageError(ctx, fasthttp.StatusConflict, "membership: peerURL exists")
			return
		}
		messageError(ctx, fasthttp.StatusInternalServerError, errNoChange)
	case mDELETE:
		mb, id, ok := s.memberOf(ctx, sub)
		if !ok {
			return
		}
		if mb == nil {
			messageError(ctx, fasthttp.StatusNotFound, "No such member: "+strconv.FormatUint(id, 16))
			return
		}
		messageError(ctx, fasthttp.StatusInternalServerError, errNoChange)
	case mPUT:
		mb, id, ok := s.memberOf(ctx, sub)
		if !ok {
			return
		}
		urls, ok := peerURLsOf(ctx)
		if !ok {
			return
		}
		switch {
		case mb == nil:
			messageError(ctx, fasthttp.StatusNotFound, "No such member: "+strconv.FormatUint(id, 16))
		case s.peerURLTaken(urls, id):
			messageError(ctx, fasthttp.StatusConflict, "membership: peerURL exists")
		case sameURLs(urls, mb.PeerURLs):
			ctx.SetStatusCode(fasthttp.StatusNoContent)
		default:
			messageError(ctx, fasthttp.StatusInternalServerError, errNoChange)
		}
	}
}

func (s *Server) serveMembersLeader(ctx *fasthttp.RequestCtx) {
	st := s.status()
	if st == nil || st.Lead == 0 {
		messageError(ctx, fasthttp.StatusServiceUnavailable, "During election")
		return
	}
	for i := range s.members {
		if s.members[i].ID == st.Lead {
			ctx.SetContentType(appJSON)
			ctx.SetBody(append(appendMember(nil, &s.members[i]), '\n'))
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

// memberOf is etcd's getID: the id after /v2/members/ in hex; nothing there
// is 405, an unparsable id 404. It returns the member, nil if unknown.
func (s *Server) memberOf(ctx *fasthttp.RequestCtx, sub string) (*Member, uint64, bool) {
	if sub == "" {
		httpError(ctx, fasthttp.StatusMethodNotAllowed, "Method Not Allowed")
		return nil, 0, false
	}
	id, err := strconv.ParseUint(sub, 16, 64)
	if err != nil {
		messageError(ctx, fasthttp.StatusNotFound, "No such member: "+sub)
		return nil, 0, false
	}
	for i := range s.members {
		if s.members[i].ID == id {
			return &s.members[i], id, true
		}
	}
	return nil, id, true
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

// peerURLTaken reports whether a member other than except already has one of
// urls.
func (s *Server) peerURLTaken(urls []string, except uint64) bool {
	for _, mb := range s.members {
		if mb.ID == except {
			continue
		}
		for _, u := range mb.PeerURLs {
			if slices.Contains(urls, u) {
				return true
			}
		}
	}
	return false
}

func sameURLs(a, b []string) bool {
	for _, u := range a {
		if !slices.Contains(b, u) {
			return false
		}
	}
	for _, u := range b {
		if !slices.Contains(a, u) {
			return false
		}
	}
	return true
}
