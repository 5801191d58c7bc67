package actors

// Node is a copy of one node of the tree as it leaves the tree actor: owned by
// whoever holds it, never shared with the tree. Expiration is unix nanoseconds
// (0: permanent). Nodes is set only on directory listings.
type Node struct {
	Key           string
	Value         string
	Dir           bool
	Expiration    int64
	ModifiedIndex uint64
	CreatedIndex  uint64
	Nodes         []*Node
}

// AppendJSON renders the node as etcd's NodeExtern (field order and omissions
// as encoding/json gives them), with ttl computed at now. The root has no key
// and no indexes, as in etcd.
func (n *Node) AppendJSON(b []byte, now int64) []byte {
	return n.appendJSON(b, now, false)
}

// appendJSON with noValue leaves a file's value out, as etcd does for the node
// of a delete, compareAndDelete or expire event (the value is gone; prevNode
// carries it).
func (n *Node) appendJSON(b []byte, now int64, noValue bool) []byte {
	b = append(b, '{')
	root := n.Key == "/"
	if !root {
		b = append(b, `"key":`...)
		b = AppendJSONString(b, n.Key)
		b = append(b, ',')
	}
	if n.Dir {
		b = append(b, `"dir":true,`...)
	} else if !noValue {
		b = append(b, `"value":`...)
		b = AppendJSONString(b, n.Value)
		b = append(b, ',')
	}
	if n.Expiration != 0 {
		b = append(b, `"expiration":`...)
		b = AppendExpiration(b, n.Expiration)
		b = append(b, ',')
		if ttl := TTLAt(n.Expiration, now); ttl != 0 {
			b = append(b, `"ttl":`...)
			b = AppendUint(b, uint64(ttl))
			b = append(b, ',')
		}
	}
	if len(n.Nodes) > 0 {
		b = append(b, `"nodes":[`...)
		for i, c := range n.Nodes {
			if i > 0 {
				b = append(b, ',')
			}
			b = c.AppendJSON(b, now)
		}
		b = append(b, "],"...)
	}
	if root {
		b[len(b)-1] = '}'
		return b
	}
	b = append(b, `"modifiedIndex":`...)
	b = AppendUint(b, n.ModifiedIndex)
	b = append(b, `,"createdIndex":`...)
	b = AppendUint(b, n.CreatedIndex)
	return append(b, '}')
}
