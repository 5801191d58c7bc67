package httpfront

// etcd 3.5 keeps v2 auth, off unless enabled, and asks its store whether it
// is on before every keys request it admits (hasKeyPrefixAccess) and every
// change of the membership (hasWriteRootAccess). The answer is a get of a
// key that is not there, so each such request adds one to getsFail in
// /v2/stats/store, on the member that took it. This server has no v2 auth,
// but its getsFail counts as etcd's does: clients and dashboards compare it.

// authProbe counts what etcd's auth check would have counted.
func (s *Server) authProbe() { s.authProbes.Add(1) }
