package actors

import (
	"strconv"
	"time"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string exactly as Go's encoding/json
// (which etcd uses) would: HTML-sensitive characters escaped, invalid UTF-8
// replaced by U+FFFD, U+2028/U+2029 escaped.
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// TTLAt is etcd's remaining time to live of a deadline seen at now:
// ceil((expiration-now)/1s), never below zero (zero is left out of the JSON).
func TTLAt(expiration, now int64) int64 {
	d := expiration - now
	if d <= 0 {
		return 0
	}
	ttl := d / int64(time.Second)
	if d%int64(time.Second) > 0 {
		ttl++
	}
	return ttl
}

// AppendExpiration appends a deadline (unix nanoseconds) as a quoted RFC 3339
// time with nanoseconds, in UTC, as encoding/json renders a time.Time.
func AppendExpiration(b []byte, expiration int64) []byte {
	b = append(b, '"')
	b = time.Unix(0, expiration).UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// AppendUint appends a decimal number.
func AppendUint(b []byte, v uint64) []byte { return strconv.AppendUint(b, v, 10) }
