package httpfront

import (
	"path"
	"time"

	"github.com/etcdv2/server/actors"
)

// keyOp is what a /v2/keys request asks of the member.
type keyOp uint8

const (
	opRead       keyOp = iota // answered by the tree
	opQuorumRead              // linearizable, through the raft actor
	opWatch                   // a long poll on the hub
	opWrite                   // a proposal through raft
)

// keyRequest is a parsed /v2/keys request: a read or watch of cmd.Path, or
// the write cmd. Its strings are copies, safe to hand to actors.
type keyRequest struct {
	op        keyOp
	cmd       actors.Command
	sorted    bool
	stream    bool
	waitIndex uint64
	noValue   bool // noValueOnSuccess
}

const keysPrefix = "/v2/keys"

// parseKeyRequest is etcd v2http's parseKeyRequest followed by the mapping of
// apply_v2.go: the form is read as net/http's ParseForm reads it, the fields
// are checked in etcd's order (the first failing check decides the error),
// and a write becomes the command the tree applies. p is the decoded path,
// starting with /v2/keys; now stamps the command and its expiration.
func parseKeyRequest(m method, p, query, ctype, body []byte, now int64, f *form, kr *keyRequest) *actors.Error {
	f.reset()
	var bodyErr string
	if m == mPUT || m == mPOST {
		var isForm bool
		if isForm, bodyErr = bodyIsForm(ctype); isForm {
			bodyErr = f.add(body)
		}
	}
	queryErr := f.add(query)
	if bodyErr != "" {
		return actors.NewError(actors.EcodeInvalidForm, bodyErr, 0)
	}
	if queryErr != "" {
		return actors.NewError(actors.EcodeInvalidForm, queryErr, 0)
	}

	prevIndex, ok := f.uint(fPrevIndex)
	if !ok {
		return actors.NewError(actors.EcodeIndexNaN, `invalid value for "prevIndex"`, 0)
	}
	waitIndex, ok := f.uint(fWaitIndex)
	if !ok {
		return actors.NewError(actors.EcodeIndexNaN, `invalid value for "waitIndex"`, 0)
	}
	var flags [fStream + 1]bool
	for k := fRecursive; k <= fStream; k++ {
		if flags[k], ok = f.bool(k); !ok {
			return actors.NewError(actors.EcodeInvalidField, invalidFlag[k], 0)
		}
	}
	recursive, sorted, wait, dir, quorum, stream := flags[fRecursive], flags[fSorted], flags[fWait], flags[fDir], flags[fQuorum], flags[fStream]
	if wait && m != mGET {
		return actors.NewError(actors.EcodeInvalidField, `"wait" can only be used with GET requests`, 0)
	}
	if f.has(fPrevValue) && len(f.value(fPrevValue)) == 0 {
		return actors.NewError(actors.EcodePrevValueRequired, `"prevValue" cannot be empty`, 0)
	}
	noValue, ok := f.bool(fNoValueOnSuccess)
	if !ok {
		return actors.NewError(actors.EcodeInvalidField, `invalid value for "noValueOnSuccess"`, 0)
	}
	var ttl uint64
	hasTTL := len(f.value(fTTL)) > 0
	if hasTTL {
		if ttl, ok = f.uint(fTTL); !ok {
			return actors.NewError(actors.EcodeTTLNaN, `invalid value for "ttl"`, 0)
		}
	}
	prevExist, hasPrevExist := false, f.has(fPrevExist)
	if hasPrevExist {
		if prevExist, ok = f.bool(fPrevExist); !ok {
			return actors.NewError(actors.EcodeInvalidField, "invalid value for prevExist", 0)
		}
	}
	refresh := false
	if f.has(fRefresh) {
		if refresh, ok = f.bool(fRefresh); !ok {
			return actors.NewError(actors.EcodeInvalidField, "invalid value for refresh", 0)
		}
		if refresh {
			if len(f.value(fValue)) > 0 {
				return actors.NewError(actors.EcodeRefreshValue, "A value was provided on a refresh", 0)
			}
			if !hasTTL {
				return actors.NewError(actors.EcodeRefreshTTLRequired, "No TTL value set", 0)
			}
		}
	}

	*kr = keyRequest{sorted: sorted, stream: stream, waitIndex: waitIndex, noValue: noValue}
	c := &kr.cmd
	c.Path = keyOf(p[len(keysPrefix):])
	c.Recursive = recursive
	c.Now = now
	switch m {
	case mGET:
		switch {
		case quorum: // etcd turns a quorum GET into QGET, wait or not
			kr.op = opQuorumRead
		case wait:
			kr.op = opWatch
		}
		return nil
	case mHEAD:
		return nil
	}

	kr.op = opWrite
	value, prevValue := f.value(fValue), f.value(fPrevValue)
	if hasTTL {
		// time.Duration(ttl) * time.Second, wrapping as etcd's does.
		c.Expiration = now + int64(time.Duration(ttl)*time.Second)
	}
	switch m {
	case mPUT:
		c.Value, c.Dir, c.Refresh = string(value), dir, refresh
		switch {
		case hasPrevExist && prevExist && prevIndex == 0 && len(prevValue) == 0:
			c.Op = actors.OpUpdate
		case hasPrevExist && !prevExist:
			c.Op, c.Refresh = actors.OpCreate, false
		case hasPrevExist || prevIndex > 0 || len(prevValue) > 0:
			c.Op = actors.OpCAS
			c.PrevValue, c.PrevIndex = string(prevValue), prevIndex
		default:
			c.Op = actors.OpSet
		}
	case mPOST:
		c.Op, c.Unique, c.Dir, c.Value = actors.OpCreate, true, dir, string(value)
	case mDELETE:
		c.Expiration = 0
		if prevIndex > 0 || len(prevValue) > 0 {
			c.Op, c.Recursive = actors.OpCAD, false
			c.PrevValue, c.PrevIndex = string(prevValue), prevIndex
		} else {
			c.Op, c.Dir = actors.OpDelete, dir
		}
	}
	return nil
}

var invalidFlag = [fStream + 1]string{
	fRecursive: `invalid value for "recursive"`,
	fSorted:    `invalid value for "sorted"`,
	fWait:      `invalid value for "wait"`,
	fDir:       `invalid value for "dir"`,
	fQuorum:    `invalid value for "quorum"`,
	fStream:    `invalid value for "stream"`,
}

// keyOf is etcd's path.Join of the store prefix and what follows /v2/keys,
// without the prefix: a clean rooted key, no trailing slash. A path ServeMux
// takes as clean is one but for that slash.
func keyOf(rest []byte) string {
	if len(rest) <= 1 {
		return "/"
	}
	if isCleanMuxPath(rest) {
		if rest[len(rest)-1] == '/' {
			rest = rest[:len(rest)-1]
		}
		return string(rest)
	}
	return path.Join("/", string(rest))
}

// bool is etcd's getBool: absent is false, present must parse as
// strconv.ParseBool parses.
func (f *form) bool(k field) (bool, bool) {
	if !f.has(k) {
		return false, true
	}
	switch string(f.value(k)) {
	case "1", "t", "T", "TRUE", "true", "True":
		return true, true
	case "0", "f", "F", "FALSE", "false", "False":
		return false, true
	}
	return false, false
}

// uint is etcd's getUint64: absent is 0, present must be a base-10 uint64 as
// strconv.ParseUint reads it (digits only, no sign, no overflow).
func (f *form) uint(k field) (uint64, bool) {
	if !f.has(k) {
		return 0, true
	}
	v := f.value(k)
	if len(v) == 0 {
		return 0, false
	}
	var n uint64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (1<<64-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}
