package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/rs/zerolog"
)

// The ETCD_* environment, read as etcd's pkg/flags reads it: a flag the
// command line leaves out takes ETCD_<FLAG> (upper case, dashes as
// underscores); a variable for a flag the command line gives too is refused,
// whatever its value; an ETCD_ variable that names no flag is warned about.

const envPrefix = "ETCD_"

func flagToEnv(name string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// envMap is environ (KEY=value lines) as a map; the first of a key wins, as
// with os.Getenv.
func envMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if _, seen := m[k]; ok && !seen {
			m[k] = v
		}
	}
	return m
}

// applyEnv sets the flags the command line left out from the environment,
// marks them given, and returns what etcd says about the environment.
func applyEnv(fs *flagSet, environ []string, given map[string]bool) ([]note, error) {
	env := envMap(environ)
	var notes []note
	// ETCD_VERSION would turn a start into a version print: etcd drops it.
	if v := env["ETCD_VERSION"]; v != "" {
		notes = append(notes, note{level: zerolog.WarnLevel, msg: "cannot set special environment variable", strs: map[string][]string{"key": {"ETCD_VERSION"}, "value": {v}}})
		delete(env, "ETCD_VERSION")
	}
	alreadySet := map[string]bool{}
	for name := range given {
		alreadySet[flagToEnv(name)] = true
	}
	used := map[string]bool{}
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		key := flagToEnv(f.Name)
		if alreadySet[key] || err != nil {
			return
		}
		val := env[key]
		if val == "" {
			return
		}
		used[key] = true
		if serr := f.Value.Set(val); serr != nil {
			err = fmt.Errorf("invalid value %q for %s: %v", val, key, serr)
			return
		}
		given[f.Name] = true
		notes = append(notes, infoNote("recognized and used environment variable", "variable-name", key, "variable-value", val))
	})
	if err != nil {
		return notes, err
	}
	for _, kv := range environ {
		k, _, ok := strings.Cut(kv, "=")
		if !ok {
			notes = append(notes, warnNote("found invalid environment variable", "environment-variable", kv))
			continue
		}
		if used[k] || k == "ETCD_VERSION" {
			continue
		}
		if alreadySet[k] {
			return notes, fieldError{msg: "conflicting environment variable is shadowed by corresponding command-line flag (either unset environment variable or disable flag))", key: "environment-variable", val: k}
		}
		if strings.HasPrefix(k, envPrefix) {
			notes = append(notes, warnNote("unrecognized environment variable", "environment-variable", kv))
		}
	}
	return notes, nil
}

// note is one line to log once the logger exists.
type note struct {
	level zerolog.Level
	msg   string
	strs  map[string][]string // a field of one value is logged as a string
}

func infoNote(msg string, kv ...string) note { return pairsNote(zerolog.InfoLevel, msg, kv) }
func warnNote(msg string, kv ...string) note { return pairsNote(zerolog.WarnLevel, msg, kv) }

func pairsNote(level zerolog.Level, msg string, kv []string) note {
	n := note{level: level, msg: msg, strs: map[string][]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		n.strs[kv[i]] = []string{kv[i+1]}
	}
	return n
}

func (n note) log(log zerolog.Logger) {
	ev := log.WithLevel(n.level)
	for k, v := range n.strs {
		if len(v) == 1 && k != "flags" {
			ev = ev.Str(k, v[0])
		} else {
			ev = ev.Strs(k, v)
		}
	}
	ev.Msg(n.msg)
}

// fieldError is a refusal logged as etcd logs it: a message and one field.
type fieldError struct{ msg, key, val string }

func (e fieldError) Error() string { return e.msg + ": " + e.val }
