package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"
)

// The flag values whose parsing etcd 3.5 does its own way (pkg/flags): the
// error texts are its, since an operator's scripts may look for them.

// urlsValue is etcd's UniqueURLs: a comma-separated list of URLs, each
// checked as types.NewURLs checks it, kept sorted and without duplicates;
// allowed are words taken as they are ("*" for --cors).
type urlsValue struct {
	urls    []string
	allowed string
}

func newURLs(def, allowed string) *urlsValue {
	v := &urlsValue{allowed: allowed}
	if def != "" {
		if err := v.Set(def); err != nil {
			panic(err)
		}
	}
	return v
}

func (v *urlsValue) Set(s string) error {
	if v.allowed != "" && s == v.allowed {
		v.urls = []string{s}
		return nil
	}
	parts := strings.Split(s, ",")
	out := make([]string, 0, len(parts))
	for _, in := range parts {
		in = strings.TrimSpace(in)
		if err := checkURL(in); err != nil {
			return err
		}
		out = append(out, in)
	}
	v.urls = uniqueSorted(out)
	return nil
}

func (v *urlsValue) String() string {
	if v == nil {
		return ""
	}
	return strings.Join(v.urls, ",")
}

// checkURL is types.NewURLs' rule for one URL.
func checkURL(in string) error {
	u, err := url.Parse(in)
	if err != nil {
		return err
	}
	switch u.Scheme {
	case "http", "https":
		if _, _, err := net.SplitHostPort(u.Host); err != nil {
			return fmt.Errorf(`URL address does not have the form "host:port": %s`, in)
		}
		if u.Path != "" {
			return fmt.Errorf("URL must not contain a path: %s", in)
		}
	case "unix", "unixs":
	default:
		return fmt.Errorf("URL scheme must be http, https, unix, or unixs: %s", in)
	}
	return nil
}

// checkHostURL is etcd's checkHostURLs for one advertised URL: it names a
// host.
func checkHostURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(u.Host)
	if err != nil {
		return err
	}
	if host == "" {
		return fmt.Errorf("unexpected empty host (%s)", raw)
	}
	return nil
}

// stringsValue is etcd's UniqueStringsValue: a comma-separated list, sorted,
// without duplicates.
type stringsValue struct{ vals []string }

func newStrings(def string) *stringsValue {
	v := &stringsValue{}
	if def != "" {
		_ = v.Set(def)
	}
	return v
}

func (v *stringsValue) Set(s string) error {
	v.vals = uniqueSorted(strings.Split(s, ","))
	return nil
}

func (v *stringsValue) String() string {
	if v == nil {
		return ""
	}
	return strings.Join(v.vals, ",")
}

// choiceValue is etcd's SelectiveStringValue: one of a few words.
type choiceValue struct {
	v      string
	valids []string
}

func newChoice(def string, valids ...string) *choiceValue {
	return &choiceValue{v: def, valids: valids}
}

func (c *choiceValue) Set(s string) error {
	for _, ok := range c.valids {
		if s == ok {
			c.v = s
			return nil
		}
	}
	return errors.New("invalid value")
}

func (c *choiceValue) String() string {
	if c == nil {
		return ""
	}
	return c.v
}

// choicesValue is etcd's SelectiveStringsValue: a comma-separated list of
// those words.
type choicesValue struct{ choiceValue }

func (c *choicesValue) Set(s string) error {
	for _, w := range strings.Split(s, ",") {
		if err := c.choiceValue.Set(w); err != nil {
			return fmt.Errorf("invalid value %q", w)
		}
	}
	c.v = s
	return nil
}

// anyValue is etcd's IgnoredFlag: a flag of etcd 2 that is accepted, with or
// without a value, and means nothing.
type anyValue struct{}

func (anyValue) Set(string) error { return nil }
func (anyValue) String() string   { return "" }
func (anyValue) IsBoolFlag() bool { return true }

func uniqueSorted(in []string) []string {
	seen := make(map[string]bool, len(in))
	out := in[:0:0]
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}
