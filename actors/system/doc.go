// Package system assembles one member: it names every actor up front (so each
// is given the others' PIDs before any exists), spawns them in dependency
// order under a guardian that stops the member instead of restarting a
// stateful actor empty, routes protoactor's own logging into zerolog, and
// starts the HTTP front end once the actors are in place.
package system
