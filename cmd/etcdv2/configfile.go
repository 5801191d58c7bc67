package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// etcd's YAML configuration file (--config-file, ETCD_CONFIG_FILE): its keys
// are the flags' names, and when it is given the other flags and the ETCD_*
// variables are ignored, as etcd 3.5 does; a key the file leaves out keeps
// the flag's default. Keys that name no flag are ignored, as etcd's YAML
// decoding ignores them.

// loadConfigFile sets the flags of fs from the file at path and marks them
// given.
func loadConfigFile(path string, fs *flagSet, given map[string]bool) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var keys map[string]json.RawMessage
	if err := yaml.Unmarshal(b, &keys); err != nil {
		return err
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, key := range names {
		raw := keys[key]
		switch key {
		case "config-file", "version":
			continue
		case "client-transport-security", "peer-transport-security":
			if err := refuseTLS(key, raw); err != nil {
				return err
			}
			continue
		case "socket-options", "experimental-snapshot-catch-up-entries":
			given[key] = true
			continue
		}
		if fs.docs[key] == nil {
			continue
		}
		f := fs.Lookup(key)
		val, ok, err := jsonToFlag(raw, f.Value)
		if err != nil {
			return fmt.Errorf("error unmarshaling JSON: while decoding JSON: %s: %v", key, err)
		}
		if !ok {
			continue
		}
		if err := f.Value.Set(val); err != nil {
			if _, isURLs := f.Value.(*urlsValue); isURLs {
				return fmt.Errorf("unexpected error setting up %s: %v", key, err)
			}
			return fmt.Errorf("invalid value %q for %s in %s: %v", val, key, path, err)
		}
		given[key] = true
	}
	return nil
}

// jsonToFlag renders one decoded YAML value as the flag's text. etcd reads
// durations as numbers of nanoseconds (time.Duration in JSON); a string in
// Go's form ("5m") is taken too. ok is false for a null.
func jsonToFlag(raw json.RawMessage, v interface{ String() string }) (string, bool, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", false, nil
	}
	switch raw[0] {
	case '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, true, err
	case '[':
		var list []string
		if err := json.Unmarshal(raw, &list); err != nil {
			return "", false, err
		}
		return strings.Join(list, ","), true, nil
	case '{':
		return "", false, fmt.Errorf("cannot unmarshal object into a flag value")
	}
	s := string(raw)
	if g, ok := v.(interface{ Get() any }); ok {
		if _, isDur := g.Get().(time.Duration); isDur && s != "0" {
			s += "ns"
		}
	}
	return s, true, nil
}

// refuseTLS refuses a transport-security section that asks for TLS, which
// this server does not serve.
func refuseTLS(key string, raw json.RawMessage) error {
	var sec map[string]any
	if err := json.Unmarshal(raw, &sec); err != nil {
		return fmt.Errorf("error unmarshaling JSON: while decoding JSON: %s: %v", key, err)
	}
	for k, v := range sec {
		switch x := v.(type) {
		case nil:
			continue
		case string:
			if x == "" {
				continue
			}
		case bool:
			if !x {
				continue
			}
		case []any:
			if len(x) == 0 {
				continue
			}
		}
		return fmt.Errorf("%s: %s is not supported by this server (TLS is not served)", key, k)
	}
	return nil
}
