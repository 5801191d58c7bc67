package actors

// Actions, as etcd names them in an event's "action".
const (
	ActionGet              = "get"
	ActionSet              = "set"
	ActionCreate           = "create"
	ActionUpdate           = "update"
	ActionDelete           = "delete"
	ActionCompareAndSwap   = "compareAndSwap"
	ActionCompareAndDelete = "compareAndDelete"
	ActionExpire           = "expire"
)

// Event is one change of the tree (or a get), as clients see it. Index is the
// etcd index the change took (for a get: the store's current index). Refresh
// marks a refresh=true write: it takes an index and a history slot but wakes no
// watcher.
type Event struct {
	Action   string
	Node     *Node
	PrevNode *Node
	Index    uint64
	Refresh  bool
	// At is the clock of the command that made the event: its nodes' ttl is
	// rendered at At wherever the event is shown (write answer or watch), as
	// etcd fixes an event's ttl when it happens.
	At int64
	// Removed lists, for a delete or expire of a directory, every path removed
	// with it (descendants first, the directory itself last): watchers on those
	// paths are told even when they are not recursive. Never rendered.
	Removed []string
}

// Created reports whether etcd answers this event with 201 Created.
func (e *Event) Created() bool {
	return e.Action == ActionCreate || (e.Action == ActionSet && e.PrevNode == nil)
}

// AppendJSON renders the event as etcd does, trailing newline included;
// noValue drops node and prevNode (noValueOnSuccess on set, create, update and
// compareAndSwap).
func (e *Event) AppendJSON(b []byte, now int64, noValue bool) []byte {
	b = append(b, `{"action":`...)
	b = AppendJSONString(b, e.Action)
	if noValue {
		switch e.Action {
		case ActionSet, ActionCreate, ActionUpdate, ActionCompareAndSwap:
			return append(b, "}\n"...)
		}
	}
	if e.Node != nil {
		b = append(b, `,"node":`...)
		switch e.Action {
		case ActionDelete, ActionCompareAndDelete, ActionExpire:
			b = e.Node.appendJSON(b, now, true)
		default:
			b = e.Node.AppendJSON(b, now)
		}
	}
	if e.PrevNode != nil {
		b = append(b, `,"prevNode":`...)
		b = e.PrevNode.AppendJSON(b, now)
	}
	return append(b, "}\n"...)
}
