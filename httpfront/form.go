package httpfront

import (
	"bytes"
	"mime"
	"strconv"
)

// field is one of the form parameters etcd's parseKeyRequest reads.
type field uint8

const (
	fRecursive field = iota
	fSorted
	fWait
	fDir
	fQuorum
	fStream
	fPrevIndex
	fWaitIndex
	fPrevValue
	fNoValueOnSuccess
	fTTL
	fPrevExist
	fRefresh
	fValue
	nFields
	fOther = nFields
)

func lookupField(name []byte) field {
	switch string(name) {
	case "recursive":
		return fRecursive
	case "sorted":
		return fSorted
	case "wait":
		return fWait
	case "dir":
		return fDir
	case "quorum":
		return fQuorum
	case "stream":
		return fStream
	case "prevIndex":
		return fPrevIndex
	case "waitIndex":
		return fWaitIndex
	case "prevValue":
		return fPrevValue
	case "noValueOnSuccess":
		return fNoValueOnSuccess
	case "ttl":
		return fTTL
	case "prevExist":
		return fPrevExist
	case "refresh":
		return fRefresh
	case "value":
		return fValue
	}
	return fOther
}

// form is the part of r.Form that etcd reads: for each field, whether it was
// given and its first value. Bodies are added before queries, so the first
// value is the body's when both carry it, as with net/http's ParseForm.
// Values are decoded into buf, which the pooled request keeps.
type form struct {
	buf  []byte
	vals [nFields]span
}

type span struct {
	off, end int
	set      bool
}

func (f *form) reset() {
	f.buf = f.buf[:0]
	f.vals = [nFields]span{}
}

func (f *form) has(k field) bool { return f.vals[k].set }

func (f *form) value(k field) []byte {
	v := f.vals[k]
	return f.buf[v.off:v.end]
}

// maxParams is net/url's default cap on the parameters of one query.
const maxParams = 10000

// add parses one urlencoded string (a body or a query) as url.ParseQuery
// does, and returns the text of the error ParseQuery would return, "" if
// none: a semicolon anywhere wins over a bad escape, and of bad escapes the
// first one counts.
func (f *form) add(s []byte) string {
	if bytes.Count(s, []byte{'&'})+1 > maxParams {
		return "number of URL query parameters exceeded limit"
	}
	var bad string
	semicolon := false
	for len(s) > 0 {
		pair := s
		if i := bytes.IndexByte(s, '&'); i >= 0 {
			pair, s = s[:i], s[i+1:]
		} else {
			s = nil
		}
		if bytes.IndexByte(pair, ';') >= 0 {
			semicolon = true
			continue
		}
		if len(pair) == 0 {
			continue
		}
		key, val := pair, []byte(nil)
		if i := bytes.IndexByte(pair, '='); i >= 0 {
			key, val = pair[:i], pair[i+1:]
		}
		k, e := f.fieldOf(key)
		if e == "" {
			if k != fOther && !f.vals[k].set {
				off := len(f.buf)
				if f.buf, e = unescapeQuery(f.buf, val); e == "" {
					f.vals[k] = span{off: off, end: len(f.buf), set: true}
				} else {
					f.buf = f.buf[:off]
				}
			} else {
				e = checkEscapes(val)
			}
		}
		if e != "" && bad == "" {
			bad = e
		}
	}
	if semicolon {
		return "invalid semicolon separator in query"
	}
	return bad
}

// fieldOf decodes a parameter name and tells which field it is.
func (f *form) fieldOf(key []byte) (field, string) {
	if bytes.IndexByte(key, '%') < 0 && bytes.IndexByte(key, '+') < 0 {
		return lookupField(key), ""
	}
	off := len(f.buf)
	var e string
	f.buf, e = unescapeQuery(f.buf, key)
	k := lookupField(f.buf[off:])
	f.buf = f.buf[:off]
	return k, e
}

// unescapeQuery appends s decoded as url.QueryUnescape would ('+' is a
// space), or returns the text of the error it would give.
func unescapeQuery(dst, s []byte) ([]byte, string) {
	if e := checkEscapes(s); e != "" {
		return dst, e
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '%':
			dst = append(dst, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		case '+':
			dst = append(dst, ' ')
		default:
			dst = append(dst, c)
		}
	}
	return dst, ""
}

// checkEscapes finds the first malformed %-escape, as net/url reports it.
func checkEscapes(s []byte) string {
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			continue
		}
		if i+2 >= len(s) || !ishex(s[i+1]) || !ishex(s[i+2]) {
			bad := s[i:]
			if len(bad) > 3 {
				bad = bad[:3]
			}
			return "invalid URL escape " + strconv.Quote(string(bad))
		}
		i += 2
	}
	return ""
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

const formType = "application/x-www-form-urlencoded"

// bodyIsForm tells whether net/http's ParseForm reads a PUT or POST body with
// this Content-Type as a form, or the error it stops at. No Content-Type
// counts as application/octet-stream: the body is ignored.
func bodyIsForm(ctype []byte) (bool, string) {
	if len(ctype) == 0 {
		return false, ""
	}
	if string(ctype) == formType {
		return true, ""
	}
	mt, _, err := mime.ParseMediaType(string(ctype))
	if err != nil {
		return false, err.Error()
	}
	return mt == formType, ""
}
