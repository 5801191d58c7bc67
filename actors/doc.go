// Package actors is the vocabulary the server's actors speak: the messages they
// send each other, the commands carried inside raft entries (with their codec),
// the nodes and events as clients see them, and etcd v2's errors with their
// codes. It imports no actor, so every actor can import it; the assembly that
// does import them all lives in actors/system.
//
// The flow, in messages:
//
//	httpfront --Propose--> raftactor --Committed--> treeactor --Events--> watchhub
//	httpfront --Read-----> treeactor (answered on the request's reply channel)
//	treeactor --NextDeadline--> ttlwheel --ProposeExpire--> raftactor (leader only)
//
// Replies travel on channels carried inside the asking message rather than on
// protoactor futures: a future costs a registry entry, a timer and a condition
// variable per request, a buffered channel costs one allocation that pools away.
// Every actor answers with Answer, which never blocks it, and wakes itself
// with an Alarm, which mails it a message.
package actors
