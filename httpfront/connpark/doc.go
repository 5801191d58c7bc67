// Package connpark keeps the HTTP front's waiting connections cheap: the
// ones idle between requests, and the long polls parked until their event.
// fasthttp gives every connection it holds a goroutine and buffers; a watch
// server holds thousands that say nothing for minutes.
//
// On Linux a ready listener (readyln_linux.go) keeps every connection in one
// edge-triggered epoll set while it waits, and hands it to fasthttp only when
// it has bytes to read; its intake (intake.go) serves a long poll that
// arrives whole without fasthttp at all. A parked watch (watchpark.go) has
// written its headers and holds its socket with no goroutine behind it: the
// lot's few writers put each event on the wire with one non-blocking write
// (watchwrite.go), its sweeper ends the watch at MaxWait, and the connection
// goes back to wait for the next request.
//
// Where epoll is not available the listener is the server's own and fasthttp
// holds the waiting connections; watches still park, through fasthttp's
// hijacking, and where a socket is no file descriptor (Windows) their writes
// all take the goroutine-and-deadline path.
//
// The engine knows its server only as a Host (run the handler, hand a
// connection to fasthttp, end a watch) and a Config (its limits and logger);
// what the HTTP layer says on the wire, headers included, stays there.
package connpark
