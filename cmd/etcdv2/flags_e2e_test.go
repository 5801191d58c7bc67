package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startArgs starts the binary with exactly args (and env added to this
// process's environment), serving clients at clientURL; it stops it by its
// own handle when the test ends.
func startArgs(t *testing.T, clientURL string, env []string, args ...string) *server {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(os.Environ(), env...)
	logs := &syncBuilder{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, url: clientURL, addr: strings.TrimPrefix(clientURL, "http://"), logs: logs}
	t.Cleanup(func() { s.kill() })
	return s
}

// refStartLine is the etcd command line of ../shared/refetcd/start.sh (read
// from it when it is there), with its variables for the ports and the data
// dir.
func refStartLine(t *testing.T) string {
	line := `--enable-v2=true --name ref --data-dir "$data" \
  --listen-client-urls "http://127.0.0.1:$port" --advertise-client-urls "http://127.0.0.1:$port" \
  --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
  --initial-cluster "ref=http://127.0.0.1:$peer" --log-level error`
	shared := os.Getenv("SHARED")
	if shared == "" {
		shared = filepath.Join("..", "..", "..", "shared")
	}
	if b, err := os.ReadFile(filepath.Join(shared, "refetcd", "start.sh")); err == nil {
		m := regexp.MustCompile(`(?s)"\$bin/etcd" (.*?) >"\$data\.log"`).FindSubmatch(b)
		if m == nil {
			t.Fatalf("no etcd command line in %s/refetcd/start.sh", shared)
		}
		line = string(m[1])
	}
	return line
}

// The reference's own start line, --enable-v2=true and all, starts this
// binary unchanged; the member then takes a 2 MiB value, which etcd's
// --max-request-bytes (1.5 MiB by default, a v3 limit) does not refuse.
func TestReferenceStartLineStartsTheMember(t *testing.T) {
	port, peer := freePort(t), freePort(t)
	data := filepath.Join(t.TempDir(), "data")
	r := strings.NewReplacer("\\\n", " ", `"`, "", "$data", data, "$port", strconv.Itoa(port), "$peer", strconv.Itoa(peer))
	args := strings.Fields(r.Replace(refStartLine(t)))
	s := startArgs(t, fmt.Sprintf("http://127.0.0.1:%d", port), nil, args...)
	s.waitHealthy(t)
	big := strings.Repeat("v", 2<<20)
	if code, ev, err := put(http.DefaultClient, s.url, "/big", big, nil); err != nil || code != 201 || ev.Node.Value != big {
		t.Fatalf("2 MiB value: %d %v", code, err)
	}
	s.stop(t)
	if logs := s.logs.String(); logs != "" {
		t.Fatalf("at --log-level error the member logged:\n%s", logs)
	}
}

// A YAML config file with the keys operators use starts the member; the
// command line and ETCD_* are then ignored, as etcd 3.5 ignores them.
func TestConfigFileStartsTheMember(t *testing.T) {
	dir := t.TempDir()
	cu := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	pu := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	path := filepath.Join(dir, "etcd.conf.yml")
	writeFile(t, path, fmt.Sprintf(`# etcd's sample configuration, the keys a v2 deployment sets
name: 'infra0'
data-dir: %s
snapshot-count: 10000
heartbeat-interval: 100
election-timeout: 1000
quota-backend-bytes: 0
listen-peer-urls: %s
listen-client-urls: %s
max-snapshots: 5
max-wals: 5
cors:
initial-advertise-peer-urls: %s
advertise-client-urls: %s
discovery:
discovery-fallback: 'proxy'
discovery-proxy:
discovery-srv:
initial-cluster: infra0=%s
initial-cluster-token: 'etcd-cluster'
initial-cluster-state: 'new'
strict-reconfig-check: false
enable-v2: true
enable-pprof: true
proxy: 'off'
client-transport-security:
  cert-file:
  key-file:
  client-cert-auth: false
  trusted-ca-file:
  auto-tls: false
peer-transport-security:
  cert-file:
  key-file:
  client-cert-auth: false
  trusted-ca-file:
  auto-tls: false
log-level: info
logger: zap
log-outputs: [stderr]
force-new-cluster: false
auto-compaction-mode: periodic
auto-compaction-retention: "1"
`, filepath.Join(dir, "data"), pu, cu, pu, cu, pu))
	s := startArgs(t, cu, []string{"ETCD_NAME=ignored"}, "--config-file", path, "--name", "ignored-too")
	s.waitHealthy(t)
	// The member publishes its client URLs through raft, just after it serves.
	want := `"name":"infra0","peerURLs":["` + pu + `"],"clientURLs":["` + cu + `"]`
	var body []byte
	for i := 0; i < 100 && !strings.Contains(string(body), want); i++ {
		time.Sleep(50 * time.Millisecond)
		resp, err := http.Get(s.url + "/v2/members")
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if !strings.Contains(string(body), want) {
		t.Fatalf("members %s", body)
	}
	logs := s.logs.String()
	if !logLine(logs, `"path":"`+path+`"`, `"message":"loaded server configuration, other configuration command line flags and environment variables will be ignored if provided"`) ||
		!logLine(logs, `"flags":["auto-compaction-mode","auto-compaction-retention","discovery-fallback","max-snapshots","max-wals","quota-backend-bytes"]`, `"message":"flags with no meaning for the v2 API are ignored"`) {
		t.Errorf("logs lack the config file's lines:\n%s", logs)
	}
}

// Flags with no meaning for the v2 API are named once, at info level; an
// ETCD_ variable that names no flag gets etcd's warning; --cors reaches the
// client API.
func TestIgnoredFlagsAndUnknownVariables(t *testing.T) {
	cu := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	pu := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	s := startArgs(t, cu, []string{"ETCD_FOO=bar", "ETCD_MAX_TXN_OPS=256"}, "--name", "e2e", "--data-dir", filepath.Join(t.TempDir(), "data"),
		"--listen-client-urls", cu, "--advertise-client-urls", cu, "--listen-peer-urls", pu, "--initial-advertise-peer-urls", pu,
		"--enable-v2", "--quota-backend-bytes", "8589934592", "--auto-compaction-retention", "1", "--max-request-bytes", "10485760",
		"--cors", "http://a.com:8080", "--log-level", "info")
	s.waitHealthy(t)
	req, _ := http.NewRequest("GET", s.url+"/v2/keys/", nil)
	req.Header.Set("Origin", "http://a.com:8080")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "http://a.com:8080" {
		t.Errorf("Access-Control-Allow-Origin %q", got)
	}
	logs := s.logs.String()
	if strings.Count(logs, "flags with no meaning for the v2 API are ignored") != 1 ||
		!logLine(logs, `"level":"info"`, `"flags":["auto-compaction-retention","max-request-bytes","max-txn-ops","quota-backend-bytes"]`, `"message":"flags with no meaning for the v2 API are ignored"`) ||
		!logLine(logs, `"level":"warn"`, `"environment-variable":"ETCD_FOO=bar"`, `"message":"unrecognized environment variable"`) {
		t.Fatalf("logs lack the ignored flags or the warning:\n%s", logs)
	}
}

// Each refusal at start: one error line, the exit code etcd gives (2 for a
// value the flag package refuses), and no data dir.
func TestStartRefusals(t *testing.T) {
	for _, c := range []struct {
		code int
		want string
		args []string
	}{
		{1, `"error":"--enable-v2=false: this server serves only the v2 API, so it cannot run with it disabled"`, []string{"--enable-v2=false"}},
		{1, `"error":"--watch-max-wait must be >0 (set to -1s)"`, []string{"--watch-max-wait", "-1s"}},
		{2, `"error":"invalid value \"-1\" for flag -watch-history: parse error"`, []string{"--watch-history", "-1"}},
		{2, `"error":"invalid value \"-1\" for flag -max-request-bytes: parse error"`, []string{"--max-request-bytes", "-1"}},
		{1, `"error":"--listen-client-urls: only http:// URLs are served: https://127.0.0.1:1"`, []string{"--listen-client-urls", "https://127.0.0.1:1"}},
		{1, `"error":"--listen-metrics-urls: expected IP in URL for binding (http://metrics.example:9000)"`, []string{"--listen-metrics-urls", "http://metrics.example:9000"}},
		{1, `"error":"unknown logger option \"capnslog2\""`, []string{"--logger", "capnslog2"}},
	} {
		t.Run(c.args[0], func(t *testing.T) { refusal(t, c.code, c.want, c.args...) })
	}
	t.Run("variable shadowed by a flag", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		s := startArgs(t, "http://127.0.0.1:1", []string{"ETCD_NAME=x"}, "--name", "y", "--data-dir", dir)
		if code := exitOf(t, s); code != 1 || len(errorLines(s.logs.String())) != 1 || !logLine(s.logs.String(), `"environment-variable":"ETCD_NAME"`,
			`"message":"conflicting environment variable is shadowed by corresponding command-line flag (either unset environment variable or disable flag))"`) {
			t.Fatalf("exit %d, logs:\n%s", code, s.logs.String())
		}
	})
}

// A second member on a data dir in use is refused at once, naming the pid
// that holds it.
func TestDataDirInUse(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	first := startServer(t, dir)
	second := launch(t, dir)
	want := fmt.Sprintf(`"error":"data dir %s is in use by another member (pid %d)"`, dir, first.cmd.Process.Pid)
	if code := exitOf(t, second); code != 1 || !logLine(second.logs.String(), want, `"message":"cannot start"`) {
		t.Fatalf("exit %d, want 1 and %s; logs:\n%s", code, want, second.logs.String())
	}
	if code, _, err := put(http.DefaultClient, first.url, "/still", "up", nil); err != nil || code != 201 {
		t.Fatalf("the first member after the refusal: %d %v", code, err)
	}
}

// logLine tells whether one line of logs holds every part.
func logLine(logs string, parts ...string) bool {
next:
	for _, l := range strings.Split(logs, "\n") {
		for _, p := range parts {
			if !strings.Contains(l, p) {
				continue next
			}
		}
		return true
	}
	return false
}

// --version prints etcd's lines, with the release /version reports.
func TestVersionFlag(t *testing.T) {
	out, err := exec.Command(binPath, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^etcd Version: 3\.5\.35\nGit SHA: \S.*\nGo Version: go\S+\nGo OS/Arch: \S+/\S+\n$`).Match(out) {
		t.Fatalf("--version:\n%s", out)
	}
	s := startServer(t, filepath.Join(t.TempDir(), "data"))
	resp, err := http.Get(s.url + "/version")
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Etcdserver string }
	json.NewDecoder(resp.Body).Decode(&v)
	resp.Body.Close()
	if !strings.HasPrefix(string(out), "etcd Version: "+v.Etcdserver+"\n") {
		t.Fatalf("/version says %q, --version %q", v.Etcdserver, out)
	}
}

// Member ids are logged in hex, never in decimal; "member serving" is said
// once, after the state is restored.
func TestLogsSayIDsInHexAndServingOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, dir, "--log-level", "debug")
	if code, _, err := put(http.DefaultClient, s.url, "/k", "v", nil); err != nil || code != 201 {
		t.Fatalf("put: %d %v", code, err)
	}
	s.stop(t)
	s = startServer(t, dir, "--log-level", "debug")
	s.stop(t)
	logs := s.logs.String()
	var hexID string
	if m := regexp.MustCompile(`"id":"([0-9a-f]+)"[^\n]*"message":"member serving"`).FindStringSubmatch(logs); m != nil {
		hexID = m[1]
	}
	id, err := strconv.ParseUint(hexID, 16, 64)
	if err != nil {
		t.Fatalf("no member serving line with a hex id:\n%s", logs)
	}
	if strings.Contains(logs, strconv.FormatUint(id, 10)) {
		t.Fatalf("member id %s logged in decimal (%d):\n%s", hexID, id, logs)
	}
	if n := strings.Count(logs, `"message":"member serving"`); n != 1 {
		t.Fatalf("member serving said %d times:\n%s", n, logs)
	}
	if loaded := strings.Index(logs, `"message":"raft log loaded"`); loaded < 0 || strings.Index(logs, `"message":"member serving"`) < loaded {
		t.Fatalf("member serving said before the tree was restored:\n%s", logs)
	}
}
