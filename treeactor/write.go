package treeactor

import "github.com/etcdv2/server/actors"

// Apply runs one write command and returns its event or etcd's error. An
// expire sweep answers with neither (its events go to the journal); an op
// this build does not know is 300 — the actor stops the member before it
// gets here.
func (s *Store) Apply(c *actors.Command) (ev *actors.Event, err *actors.Error) {
	defer func() {
		if ev != nil {
			ev.At = c.Now
		}
	}()
	switch c.Op {
	case actors.OpSet:
		return s.Set(c)
	case actors.OpCreate:
		return s.Create(c)
	case actors.OpUpdate:
		return s.Update(c)
	case actors.OpCAS:
		return s.CompareAndSwap(c)
	case actors.OpDelete:
		return s.Delete(c)
	case actors.OpCAD:
		return s.CompareAndDelete(c)
	case actors.OpExpire:
		s.Expire(c.Now)
		return nil, nil
	}
	return nil, s.fail(actors.EcodeRaftInternal, actors.ErrUnknownOp.Error())
}

// Set creates or replaces a file or directory (PUT without conditions).
func (s *Store) Set(c *actors.Command) (*actors.Event, *actors.Error) {
	s.m.write(wSet)
	ev, err := s.set(c)
	if err != nil {
		s.stats.SetFail++
		return nil, err
	}
	s.stats.SetSuccess++
	return ev, nil
}

func (s *Store) set(c *actors.Command) (*actors.Event, *actors.Error) {
	p := actors.CleanKey(c.Path)
	value := c.Value
	prev := s.get(p)
	switch {
	case prev != nil:
		if c.Refresh {
			value = prev.value
		}
	case c.Refresh || !s.underDir(p):
		// Only a file in the way, or a refresh of nothing, is an error; a
		// new key in a directory that exists (the common case) has neither.
		if file, missing := s.blocked(p); file != nil {
			return nil, s.fail(actors.EcodeNotDir, file.key)
		} else if c.Refresh {
			return nil, s.fail(actors.EcodeKeyNotFound, missing)
		}
	}
	ev, err := s.create(p, prev, c.Dir, value, c.Expiration, true, actors.ActionSet)
	if err != nil {
		return nil, err
	}
	ev.Refresh = c.Refresh
	s.emit(ev)
	return ev, nil
}

// Create makes a key that must not exist yet (PUT prevExist=false), or an
// in-order key under the path (POST).
func (s *Store) Create(c *actors.Command) (*actors.Event, *actors.Error) {
	s.m.write(wCreate)
	p := c.Path
	if c.Unique {
		p = uniquePath(p, s.index+1)
	} else {
		p = actors.CleanKey(p)
	}
	ev, err := s.create(p, s.get(p), c.Dir, c.Value, c.Expiration, false, actors.ActionCreate)
	if err != nil {
		s.stats.CreateFail++
		return nil, err
	}
	s.stats.CreateSuccess++
	s.emit(ev)
	return ev, nil
}

// create is etcd's internalCreate: the shared half of set and create. old is
// the node at p, if any.
func (s *Store) create(p string, old *node, dir bool, value string, expire int64, replace bool, action string) (*actors.Event, *actors.Error) {
	if p == "/" {
		return nil, s.fail(actors.EcodeRootROnly, "/")
	}
	expire = normalizeExpire(expire)
	dirPath, _ := splitPath(p)
	_, err := s.ensureDir(dirPath)
	if err != nil {
		// etcd counts a blocked walk as a failed set whatever the op was,
		// and for Prometheus as one more write of the op.
		s.stats.SetFail++
		s.m.write(writeOf(action))
		return nil, err
	}
	next := s.index + 1
	var prevNode *actors.Node
	if old != nil {
		if !replace {
			return nil, s.fail(actors.EcodeNodeExist, p)
		}
		if old.isDir() {
			return nil, s.fail(actors.EcodeNotFile, p)
		}
		// etcd removes the old file and adds a new node; putting the new
		// one in its place gives the same tree.
		prevNode = old.extern()
	}
	n := newNode(p, next)
	n.dir = dir
	if !dir {
		n.setValue(value)
	}
	n.expire = expire
	s.put(n, old)
	s.index = next
	return &actors.Event{Action: action, Node: n.extern(), PrevNode: prevNode, Index: next}, nil
}

// Update changes an existing key's value and deadline (PUT prevExist=true).
// The deadline is replaced: 0 makes the key permanent. A directory takes only
// a new deadline and index, as in etcd 2.x and the API document.
func (s *Store) Update(c *actors.Command) (*actors.Event, *actors.Error) {
	s.m.write(wUpdate)
	p := actors.CleanKey(c.Path)
	if p == "/" {
		s.stats.UpdateSuccess++ // etcd 3.5 counts this refusal as a success
		return nil, s.fail(actors.EcodeRootROnly, "/")
	}
	n, err := s.lookup(p)
	if err != nil {
		s.stats.UpdateFail++
		return nil, err
	}
	if n.isDir() && c.Value != "" {
		s.stats.UpdateSuccess++ // etcd 3.5 counts this refusal as a success
		return nil, s.fail(actors.EcodeNotFile, p)
	}
	s.stats.UpdateSuccess++
	return s.rewrite(n, c, actors.ActionUpdate), nil
}

// CompareAndSwap rewrites a file whose value and/or modified index match.
func (s *Store) CompareAndSwap(c *actors.Command) (*actors.Event, *actors.Error) {
	s.m.write(wCAS)
	p := actors.CleanKey(c.Path)
	if p == "/" {
		s.stats.CompareAndSwapSuccess++ // etcd 3.5 counts this refusal as a success
		return nil, s.fail(actors.EcodeRootROnly, "/")
	}
	n, err := s.lookup(p)
	if err == nil {
		if n.isDir() {
			err = s.fail(actors.EcodeNotFile, p)
		} else {
			err = s.compare(n, c)
		}
	}
	if err != nil {
		s.stats.CompareAndSwapFail++
		return nil, err
	}
	s.stats.CompareAndSwapSuccess++
	return s.rewrite(n, c, actors.ActionCompareAndSwap), nil
}

// rewrite is the successful end of update and compareAndSwap.
func (s *Store) rewrite(old *node, c *actors.Command, action string) *actors.Event {
	next := s.index + 1
	ev := &actors.Event{Action: action, PrevNode: old.extern(), Index: next, Refresh: c.Refresh}
	n := old.clone()
	n.modified = next
	if !n.isDir() && !c.Refresh {
		n.setValue(c.Value)
	}
	n.expire = normalizeExpire(c.Expiration)
	s.put(n, old)
	s.index = next
	ev.Node = n.extern()
	s.emit(ev)
	return ev
}

// compare is etcd's test of prevValue/prevIndex with its exact causes.
func (s *Store) compare(n *node, c *actors.Command) *actors.Error {
	indexOK := c.PrevIndex == 0 || n.modified == c.PrevIndex
	valueOK := c.PrevValue == "" || n.value == c.PrevValue
	var cause string
	switch {
	case indexOK && valueOK:
		return nil
	case indexOK:
		cause = "[" + c.PrevValue + " != " + n.value + "]"
	case valueOK:
		cause = "[" + uitoa(c.PrevIndex) + " != " + uitoa(n.modified) + "]"
	default:
		cause = "[" + c.PrevValue + " != " + n.value + "] [" + uitoa(c.PrevIndex) + " != " + uitoa(n.modified) + "]"
	}
	return s.fail(actors.EcodeTestFailed, cause)
}

// Delete removes a file, an empty directory (Dir) or a whole subtree
// (Recursive, which implies Dir).
func (s *Store) Delete(c *actors.Command) (*actors.Event, *actors.Error) {
	s.m.write(wDelete)
	p := actors.CleanKey(c.Path)
	if p == "/" {
		s.stats.DeleteSuccess++ // etcd 3.5 counts this refusal as a success
		return nil, s.fail(actors.EcodeRootROnly, "/")
	}
	n, err := s.lookup(p)
	if err == nil && n.isDir() {
		switch {
		case !c.Dir && !c.Recursive:
			err = s.fail(actors.EcodeNotFile, p)
		case !c.Recursive && s.hasChildren(n):
			err = s.fail(actors.EcodeDirNotEmpty, p)
		}
	}
	if err != nil {
		s.stats.DeleteFail++
		return nil, err
	}
	s.stats.DeleteSuccess++
	return s.removeEvent(n, actors.ActionDelete), nil
}

// CompareAndDelete removes a file whose value and/or modified index match.
func (s *Store) CompareAndDelete(c *actors.Command) (*actors.Event, *actors.Error) {
	s.m.write(wCAD)
	p := actors.CleanKey(c.Path)
	n, err := s.lookup(p)
	if err != nil {
		s.stats.CompareAndDeleteFail++
		return nil, err
	}
	// etcd 3.5 counts both refusals below as successes.
	if n.isDir() {
		s.stats.CompareAndDeleteSuccess++
		if p == "/" {
			// etcd's cause is its internal "/1", trimmed to nothing.
			return nil, s.fail(actors.EcodeNotFile, "")
		}
		return nil, s.fail(actors.EcodeNotFile, p)
	}
	if err := s.compare(n, c); err != nil {
		s.stats.CompareAndDeleteSuccess++
		return nil, err
	}
	s.stats.CompareAndDeleteSuccess++
	return s.removeEvent(n, actors.ActionCompareAndDelete), nil
}

// removeEvent takes n and its subtree out of the tree under a new index.
func (s *Store) removeEvent(n *node, action string) *actors.Event {
	next := s.index + 1
	ev := &actors.Event{Action: action, Node: n.gone(next), PrevNode: n.extern(), Index: next}
	ev.Removed = s.remove(n)
	s.index = next
	s.emit(ev)
	return ev
}

// Expire removes every node whose deadline is at or before now, earliest
// first, each under its own index with its own expire event. It returns how
// many it removed.
func (s *Store) Expire(now int64) int {
	count := 0
	for len(s.ttl) > 0 && s.ttl[0].at <= now {
		s.removeEvent(s.tree.get(s.ttl[0].key), actors.ActionExpire).At = now
		s.stats.ExpireCount++
		s.m.expires.Inc()
		count++
	}
	return count
}

func uitoa(v uint64) string { return string(actors.AppendUint(nil, v)) }
