package httpfront

import (
	"bytes"
	"strings"

	"github.com/valyala/fasthttp"
)

// /livez and /readyz are etcd 3.5's probes on its metrics listener
// (etcdhttp/health.go): each runs named checks, answers "ok" (with each
// check's line first when ?verbose is asked) or 503 with every check's line.
// /livez/<check> and /readyz/<check> run one check; ?exclude=a,b leaves
// checks out of the root's. etcd runs them in map order; here the order is
// fixed. No learners and no runtime corruption alarm exist here, so those
// two checks always pass.

type probeCheck uint8

const (
	checkSerializable probeCheck = iota // a local read answers
	checkLinearizable                   // a quorum read answers: the cluster agrees
	checkCorruption                     // no corruption alarm is raised
	checkNonLearner                     // this member votes
)

var probeNames = [...]string{"serializable_read", "linearizable_read", "data_corruption", "non_learner"}

var (
	livezChecks  = []probeCheck{checkSerializable}
	readyzChecks = []probeCheck{checkCorruption, checkSerializable, checkLinearizable, checkNonLearner}
)

// serveProbe answers path if it is a probe; false: it is not one.
func (s *Server) serveProbe(ctx *fasthttp.RequestCtx, path []byte) bool {
	var checks []probeCheck
	var sub []byte
	switch {
	case bytes.HasPrefix(path, []byte("/livez")):
		checks, sub = livezChecks, path[len("/livez"):]
	case bytes.HasPrefix(path, []byte("/readyz")):
		checks, sub = readyzChecks, path[len("/readyz"):]
	default:
		return false
	}
	run := checks
	if len(sub) > 0 {
		run = nil
		for _, c := range checks {
			if string(sub) == "/"+probeNames[c] {
				run = []probeCheck{c}
			}
		}
		if run == nil {
			return false
		}
	} else if ex := ctx.QueryArgs().PeekMulti("exclude"); len(ex) > 0 {
		run = excludeChecks(checks, ex)
	}
	if !ctx.IsGet() {
		methodNotAllowed(ctx, "GET")
		return true
	}
	var out strings.Builder
	failed := false
	for _, c := range run {
		if err := s.probe(c); err != "" {
			failed = true
			out.WriteString("[-]" + probeNames[c] + " failed: " + err + "\n")
		} else {
			out.WriteString("[+]" + probeNames[c] + " ok\n")
		}
	}
	if failed {
		// etcd always says why a probe failed (http.Error adds the newline).
		httpError(ctx, fasthttp.StatusServiceUnavailable, out.String())
		s.log.Error().Bytes("path", path).Str("reason", out.String()).Msg("health check error")
		return true
	}
	ctx.SetContentType(textPlain)
	ctx.Response.Header.Set("X-Content-Type-Options", "nosniff")
	if ctx.QueryArgs().Has("verbose") {
		ctx.WriteString(out.String())
	}
	ctx.WriteString("ok\n")
	return true
}

func excludeChecks(checks []probeCheck, ex [][]byte) []probeCheck {
	out := make([]probeCheck, 0, len(checks))
	for _, c := range checks {
		skip := false
		for _, list := range ex {
			for _, name := range bytes.Split(list, []byte(",")) {
				skip = skip || string(name) == probeNames[c]
			}
		}
		if !skip {
			out = append(out, c)
		}
	}
	return out
}

// probe runs one check; "" when it passes, else the reason.
func (s *Server) probe(c probeCheck) string {
	switch c {
	case checkSerializable, checkLinearizable:
		return s.probeRead(c == checkLinearizable, s.timeout)
	}
	return ""
}
