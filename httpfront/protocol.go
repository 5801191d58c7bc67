package httpfront

import (
	"bytes"
	"errors"
	"strings"

	"github.com/valyala/fasthttp"
)

// What net/http, and so etcd, answers about HTTP itself, where fasthttp
// answers otherwise: a client can tell these apart.

var (
	hdrExpect     = []byte("Expect")
	expect100     = []byte("100-continue")
	protoHTTP10   = []byte("HTTP/1.0")
	unsupportedTE = "Unsupported transfer encoding"
	hdrTE         = []byte("Transfer-Encoding")
	ransfer       = []byte("ransfer-")
)

// speakHTTP answers in the request's HTTP version and refuses an Expect it
// cannot meet, as net/http does; false: the request is answered already.
func speakHTTP(ctx *fasthttp.RequestCtx) bool {
	h := &ctx.Request.Header
	if !h.IsHTTP11() {
		ctx.Response.Header.SetProtocol(protoHTTP10)
	}
	if teIdentity(h.RawHeaders()) {
		notImplementedTE(ctx)
		return false
	}
	if e := h.PeekBytes(hdrExpect); len(e) != 0 && !bytes.EqualFold(e, expect100) {
		// net/http's sendExpectationFailed: no body, and the connection
		// closes, as the client may be sending one.
		ctx.SetStatusCode(fasthttp.StatusExpectationFailed)
		ctx.SetConnectionClose()
		return false
	}
	return true
}

// teIdentity: the request says Transfer-Encoding: identity, which fasthttp
// accepts and drops from the header (so only the raw header shows it) and
// net/http refuses with 501. The search for "ransfer-" keeps the common case
// at one scan of the raw header.
func teIdentity(raw []byte) bool {
	if !bytes.Contains(raw, ransfer) {
		return false
	}
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(bytes.TrimSpace(k), hdrTE) && !bytes.EqualFold(bytes.TrimSpace(v), []byte("chunked")) {
			return true
		}
	}
	return false
}

// isUnsupportedTE: fasthttp refused the request's Transfer-Encoding
// (anything but chunked or identity, or several of them). net/http answers
// 501 to those.
func isUnsupportedTE(err error) bool {
	if errors.Is(err, fasthttp.ErrUnsupportedTransferEncoding) {
		return true
	}
	// fasthttp words these in errors of their own, wrapped in its text.
	msg := err.Error()
	return strings.Contains(msg, "unsupported transfer-encoding") || strings.Contains(msg, "too many transfer-encoding headers")
}

func notImplementedTE(ctx *fasthttp.RequestCtx) {
	ctx.Response.Reset()
	ctx.SetStatusCode(fasthttp.StatusNotImplemented)
	ctx.SetContentType(textPlain)
	ctx.SetConnectionClose()
	ctx.SetBodyString(unsupportedTE)
}
