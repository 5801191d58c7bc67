// Package watchhub is the one place where etcd v2's event history and its
// watchers live together.
//
// The tree actor sends every applied batch of events here, in index order;
// the front registers long polls and streams here. Because both arrive in the
// same mailbox, a watcher asking for a past index is answered from the
// history and, if nothing there matches, registered before the next event is
// seen: no event can slip between "already in history" and "not yet
// notified".
//
// Watchers are indexed by the exact path they watch, split into those that
// care about the path only and those that also care about everything below
// it, so an event costs a walk over its key's ancestors plus the watchers it
// actually reaches. Sends to a watcher's sink never block. A one-shot watcher
// gets one delivery and is gone; a stream whose sink is full is not dropped,
// as etcd would, but marked lagging and refilled from the history, in order,
// as its reader catches up; only a stream whose next event has fallen out of
// the history is ended, with etcd's error 401, so the client can resume.
//
// Hub holds the logic as a plain value (tests and benchmarks drive it
// directly); the actor in actor.go only feeds it messages and keeps the
// retry timer for lagging streams.
package watchhub
