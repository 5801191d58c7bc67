package actors

import (
	"encoding/binary"
	"errors"
)

// Op is the one-byte tag that starts every command in a raft entry. The
// numbers are on disk: never renumber, only add.
type Op uint8

const (
	OpSet    Op = 1 // PUT without conditions
	OpCreate Op = 2 // PUT prevExist=false, or POST (Unique: an in-order key under Path)
	OpUpdate Op = 3 // PUT prevExist=true without prevValue/prevIndex
	OpCAS    Op = 4 // PUT with prevValue and/or prevIndex
	OpDelete Op = 5 // DELETE without conditions
	OpCAD    Op = 6 // DELETE with prevValue and/or prevIndex
	OpExpire Op = 7 // leader's sweep: expire every deadline at or before Now
	opLimit  Op = 8
	// OpPublish tags a member's published name and client URLs: the raft
	// actor applies it to the membership and the tree never decodes it. It
	// is opLimit, so DecodeCommand refuses it, and so does a build that
	// predates it.
	OpPublish Op = 8
)

// Command is a write as it is replicated: everything the tree needs to apply
// it deterministically, the clock included (the tree never reads one).
// Expiration is an absolute deadline in unix nanoseconds (0: permanent), worked
// out by the member that took the request. Now is that member's clock when it
// took the request (for an expire: the leader's sweep time).
type Command struct {
	Op         Op
	Dir        bool
	Unique     bool
	Refresh    bool
	Recursive  bool
	ReqID      uint64
	Path       string
	Value      string
	PrevValue  string
	PrevIndex  uint64
	Expiration int64
	Now        int64
}

// ErrUnknownOp is returned for an entry whose tag this build does not know:
// applying past it would let replicas diverge, so the member must stop.
var ErrUnknownOp = errors.New("command: unknown op tag")

// ErrShortCommand is returned for a truncated or malformed entry.
var ErrShortCommand = errors.New("command: truncated entry")

const (
	flagDir = 1 << iota
	flagUnique
	flagRefresh
	flagRecursive
)

// AppendEncoded appends the command's compact encoding:
// op, flags, then varints and length-prefixed strings.
func (c *Command) AppendEncoded(b []byte) []byte {
	var flags byte
	if c.Dir {
		flags |= flagDir
	}
	if c.Unique {
		flags |= flagUnique
	}
	if c.Refresh {
		flags |= flagRefresh
	}
	if c.Recursive {
		flags |= flagRecursive
	}
	b = append(b, byte(c.Op), flags)
	b = binary.AppendUvarint(b, c.ReqID)
	b = appendString(b, c.Path)
	b = appendString(b, c.Value)
	b = appendString(b, c.PrevValue)
	b = binary.AppendUvarint(b, c.PrevIndex)
	b = binary.AppendVarint(b, c.Expiration)
	b = binary.AppendVarint(b, c.Now)
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// DecodeCommand parses an entry written by AppendEncoded. The strings are
// copied, so data may be reused afterwards.
func DecodeCommand(data []byte) (*Command, error) {
	if len(data) < 2 {
		return nil, ErrShortCommand
	}
	c := &Command{Op: Op(data[0])}
	if c.Op == 0 || c.Op >= opLimit {
		return nil, ErrUnknownOp
	}
	flags := data[1]
	c.Dir = flags&flagDir != 0
	c.Unique = flags&flagUnique != 0
	c.Refresh = flags&flagRefresh != 0
	c.Recursive = flags&flagRecursive != 0
	d := NewReader(data[2:])
	c.ReqID = d.Uvarint()
	c.Path = d.String()
	c.Value = d.String()
	c.PrevValue = d.String()
	c.PrevIndex = d.Uvarint()
	c.Expiration = d.Varint()
	c.Now = d.Varint()
	if d.Bad() {
		return nil, ErrShortCommand
	}
	return c, nil
}

// PeekReqID reads only the request id of an encoded command (0 if malformed),
// so the raft actor can match waiters without decoding whole entries.
func PeekReqID(data []byte) uint64 {
	if len(data) < 3 {
		return 0
	}
	id, n := binary.Uvarint(data[2:])
	if n <= 0 {
		return 0
	}
	return id
}
