package actors

import "strconv"

// etcd v2 error codes, as clients match on them.
const (
	EcodeKeyNotFound        = 100
	EcodeTestFailed         = 101
	EcodeNotFile            = 102
	EcodeNotDir             = 104
	EcodeNodeExist          = 105
	EcodeKeyIsPreserved     = 106
	EcodeRootROnly          = 107
	EcodeDirNotEmpty        = 108
	EcodeUnauthorized       = 110
	EcodeValueRequired      = 200
	EcodePrevValueRequired  = 201
	EcodeTTLNaN             = 202
	EcodeIndexNaN           = 203
	EcodeInvalidField       = 209
	EcodeInvalidForm        = 210
	EcodeRefreshValue       = 211
	EcodeRefreshTTLRequired = 212
	EcodeRaftInternal       = 300
	EcodeLeaderElect        = 301
	EcodeWatcherCleared     = 400
	EcodeEventIndexCleared  = 401
)

var errorMessages = map[int]string{
	EcodeKeyNotFound:        "Key not found",
	EcodeTestFailed:         "Compare failed",
	EcodeNotFile:            "Not a file",
	EcodeNotDir:             "Not a directory",
	EcodeNodeExist:          "Key already exists",
	EcodeKeyIsPreserved:     "The prefix of given key is a keyword in etcd",
	EcodeRootROnly:          "Root is read only",
	EcodeDirNotEmpty:        "Directory not empty",
	EcodeUnauthorized:       "The request requires user authentication",
	EcodeValueRequired:      "Value is Required in POST form",
	EcodePrevValueRequired:  "PrevValue is Required in POST form",
	EcodeTTLNaN:             "The given TTL in POST form is not a number",
	EcodeIndexNaN:           "The given index in POST form is not a number",
	EcodeInvalidField:       "Invalid field",
	EcodeInvalidForm:        "Invalid POST form",
	EcodeRefreshValue:       "Value provided on refresh",
	EcodeRefreshTTLRequired: "A TTL must be provided on refresh",
	EcodeRaftInternal:       "Raft Internal Error",
	EcodeLeaderElect:        "During Leader Election",
	EcodeWatcherCleared:     "watcher is cleared due to etcd recovery",
	EcodeEventIndexCleared:  "The event in requested index is outdated and cleared",
}

var errorStatus = map[int]int{
	EcodeKeyNotFound:  404,
	EcodeTestFailed:   412,
	EcodeNotFile:      403,
	EcodeNodeExist:    412,
	EcodeDirNotEmpty:  403,
	EcodeUnauthorized: 401,
	EcodeRaftInternal: 500,
	EcodeLeaderElect:  500,
}

// Error is an etcd v2 error as a value: its code decides message and status;
// Index is the etcd index at the time of the error (0 for parse errors).
type Error struct {
	Code  int
	Cause string
	Index uint64
}

// NewError makes an *Error.
func NewError(code int, cause string, index uint64) *Error {
	return &Error{Code: code, Cause: cause, Index: index}
}

func (e *Error) Error() string { return e.Message() + " (" + e.Cause + ")" }

// Message is etcd's fixed text for the code.
func (e *Error) Message() string { return errorMessages[e.Code] }

// Status is the HTTP status etcd answers the code with.
func (e *Error) Status() int {
	if s, ok := errorStatus[e.Code]; ok {
		return s
	}
	return 400
}

// AppendJSON renders the error as etcd does, with the trailing newline:
// {"errorCode":N,"message":"...","cause":"...","index":N}
func (e *Error) AppendJSON(b []byte) []byte {
	b = append(b, `{"errorCode":`...)
	b = strconv.AppendInt(b, int64(e.Code), 10)
	b = append(b, `,"message":`...)
	b = AppendJSONString(b, e.Message())
	if e.Cause != "" {
		b = append(b, `,"cause":`...)
		b = AppendJSONString(b, e.Cause)
	}
	b = append(b, `,"index":`...)
	b = strconv.AppendUint(b, e.Index, 10)
	return append(b, "}\n"...)
}

// CauseNoLeader is etcd's text for a member without a leader
// (etcdserver.ErrNoLeader).
const CauseNoLeader = "etcdserver: no leader"

// NoLeaderError is the error that ends the watches of a member without a
// leader, and answers new ones: errorCode 300, HTTP 500, which etcd's
// clients take as "try another member".
func NoLeaderError(index uint64) *Error { return NewError(EcodeRaftInternal, CauseNoLeader, index) }
