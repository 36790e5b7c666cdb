package main

// The container files at the root of the repository: the Dockerfile and
// compose.yaml must say what the README's Deployment section promises. No
// container runs here (building the image is `make image`); these read the
// files as a container engine would.

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestDockerfileIsStaticScratchNonRoot(t *testing.T) {
	df := readRepoFile(t, "Dockerfile")
	var froms []string
	instr := map[string][]string{}
	for _, line := range strings.Split(df, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		word, rest, _ := strings.Cut(line, " ")
		word = strings.ToUpper(word)
		instr[word] = append(instr[word], strings.TrimSpace(rest))
		if word == "FROM" {
			froms = append(froms, strings.TrimSpace(rest))
		}
	}
	if len(froms) == 0 || !strings.HasPrefix(froms[len(froms)-1], "scratch") {
		t.Errorf("final stage is FROM %v, want scratch", froms)
	}
	users := instr["USER"]
	if len(users) == 0 {
		t.Error("no USER: the image would run as root")
	} else if u := users[len(users)-1]; u == "0" || strings.HasPrefix(u, "0:") || u == "root" {
		t.Errorf("USER %s is root", u)
	}
	if e := instr["ENTRYPOINT"]; len(e) == 0 || e[len(e)-1] != `["/parley", "serve"]` {
		t.Errorf("ENTRYPOINT %v, want [\"/parley\", \"serve\"]", e)
	}
	copies := strings.Join(instr["COPY"], "\n")
	for _, want := range []string{"/etc/ssl/certs/ca-certificates.crt", "/parley"} {
		if !strings.Contains(copies, want) {
			t.Errorf("no COPY to %s", want)
		}
	}
	// The binary must be static for scratch: the build line says so.
	if !regexp.MustCompile(`CGO_ENABLED=0 go build .*-o dist/parley ./cmd/parley`).MatchString(readRepoFile(t, "Makefile")) {
		t.Error("Makefile: the image target does not build dist/parley with CGO_ENABLED=0")
	}
}

type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Build       any               `yaml:"build"`
		Command     []string          `yaml:"command"`
		Entrypoint  []string          `yaml:"entrypoint"`
		Environment map[string]string `yaml:"environment"`
		Volumes     []string          `yaml:"volumes"`
		DependsOn   []string          `yaml:"depends_on"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

func TestComposeFileRunsRedisGatewayWorker(t *testing.T) {
	var c composeFile
	// yaml.v3 resolves the anchors and merge keys (<<) as compose does.
	if err := yaml.Unmarshal([]byte(readRepoFile(t, "compose.yaml")), &c); err != nil {
		t.Fatalf("compose.yaml does not parse: %v", err)
	}
	redis, ok := c.Services["redis"]
	if !ok {
		t.Fatal("no redis service")
	}
	cmd := strings.Join(redis.Command, " ")
	for _, want := range []string{"--appendonly yes", "--maxmemory-policy noeviction"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("redis command %q lacks %q", cmd, want)
		}
	}
	if len(redis.Volumes) == 0 || !strings.HasSuffix(redis.Volumes[0], ":/data") {
		t.Errorf("redis volumes %v: want a volume on /data, where the AOF lives", redis.Volumes)
	} else if name, _, _ := strings.Cut(redis.Volumes[0], ":"); c.Volumes == nil || !mapHas(c.Volumes, name) {
		t.Errorf("redis volume %q is not declared under volumes", name)
	}
	for _, role := range []string{"gateway", "worker"} {
		s, ok := c.Services[role]
		if !ok {
			t.Errorf("no %s service", role)
			continue
		}
		if !slices.Equal(s.Entrypoint, []string{"/parley", role}) {
			t.Errorf("%s entrypoint %v, want [/parley %s]", role, s.Entrypoint, role)
		}
		if s.Environment["PARLEY_REDIS_URL"] != "redis://redis:6379/0" {
			t.Errorf("%s PARLEY_REDIS_URL %q, want the redis service", role, s.Environment["PARLEY_REDIS_URL"])
		}
		for _, k := range []string{"PARLEY_MEDIA_SECRET", "PARLEY_ADMIN_PASSWORD", "PARLEY_PUBLIC_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"} {
			if _, ok := s.Environment[k]; !ok {
				t.Errorf("%s: %s not in its environment", role, k)
			}
		}
		if !slices.Contains(s.DependsOn, "redis") {
			t.Errorf("%s does not depend on redis", role)
		}
	}
	if gw := c.Services["gateway"]; gw.Build == nil || gw.Environment["PARLEY_LISTEN"] != "0.0.0.0:8080" {
		t.Errorf("gateway: build %v, PARLEY_LISTEN %q; want the Dockerfile built and 0.0.0.0:8080", gw.Build, gw.Environment["PARLEY_LISTEN"])
	}
}

func mapHas(m map[string]any, k string) bool { _, ok := m[k]; return ok }
