// Package httpfront is the member's HTTP face: a fasthttp server that answers
// etcd v2's client API exactly as etcd 3.5's v2http layer does.
//
// A request is parsed the way Go's net/http would have parsed it for etcd
// (ServeMux's path cleaning and redirects, ParseForm's body-before-query
// rules and error texts, parseKeyRequest's checks in their order), turned
// into a plain message and sent to the actor that owns the answer: writes to
// the raft actor as a Propose, plain reads to the tree, quorum reads to the
// raft actor, long polls to the watch hub. The handler then waits on the
// message's own Done channel, never longer than the request timeout, and
// renders etcd's JSON, headers and status codes.
//
// The connections that wait (idle between requests, or parked in a long
// poll) are package connpark's: an epoll-based engine that owns their file
// descriptors and writes parked watches' events, and knows this package only
// as its Host. The split runs along the craft: here, what etcd says on the
// wire; there, how a waiting connection costs no goroutine.
//
// The front owns nothing but its pools: every byte it keeps is copied out of
// the fasthttp RequestCtx (which dies when the handler returns), and a message
// it gave up waiting for is dropped, never pooled, since its answer may still
// arrive.
package httpfront
