package config

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Redis topologies PARLEY_REDIS_MODE names.
const (
	RedisServer   = "server"   // one server (or a managed endpoint)
	RedisSentinel = "sentinel" // a master found through Redis Sentinel
	RedisCluster  = "cluster"  // a Redis Cluster
)

// RedisTarget is where Parley's Redis is, parsed from PARLEY_REDIS_URL in the
// form PARLEY_REDIS_MODE gives it (go-redis's URL forms):
//
//	server:   redis://[user:password@]host:port[/db]     (rediss:// for TLS)
//	sentinel: redis://[user:password@]sentinel:port[/db]?master_name=M&addr=sentinel2:port[&password=P]
//	cluster:  redis://[user:password@]node:port?addr=node2:port&addr=node3:port
type RedisTarget struct {
	Mode     string
	server   *redis.Options
	failover *redis.FailoverOptions
	cluster  *redis.ClusterOptions
}

// ParseRedis checks a Redis URL against its mode without connecting.
func ParseRedis(mode, rawURL string) (RedisTarget, error) {
	t := RedisTarget{Mode: mode}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		return t, fmt.Errorf("PARLEY_REDIS_URL: want redis://host:port[/db] or rediss://..., got %q", redactURL(rawURL))
	}
	switch mode {
	case RedisServer:
		t.server, err = redis.ParseURL(rawURL)
	case RedisSentinel:
		t.failover, err = redis.ParseFailoverURL(rawURL)
		if err == nil && t.failover.MasterName == "" {
			err = fmt.Errorf("sentinel mode needs ?master_name=")
		}
	case RedisCluster:
		t.cluster, err = redis.ParseClusterURL(rawURL)
	default:
		return t, fmt.Errorf("PARLEY_REDIS_MODE: want %s, %s or %s, got %q", RedisServer, RedisSentinel, RedisCluster, mode)
	}
	if err != nil {
		reason := err.Error()
		if p, ok := u.User.Password(); ok && strings.Contains(reason, p) {
			reason = "unreadable" // go-redis quoted the URL, password and all
		}
		return t, fmt.Errorf("PARLEY_REDIS_URL: not a %s URL (%s): %q", mode, reason, redactURL(rawURL))
	}
	return t, nil
}

// Open returns a new client with a connection pool of its own: the gateway
// and the worker's Asynq server each get one, so a burst of webhooks never
// starves the job handlers of connections.
func (t RedisTarget) Open() redis.UniversalClient {
	// go-redis fills defaults into the options it is given: each client
	// gets its own copy.
	switch {
	case t.failover != nil:
		o := *t.failover
		return redis.NewFailoverClient(&o)
	case t.cluster != nil:
		o := *t.cluster
		o.Addrs = append([]string(nil), t.cluster.Addrs...)
		return redis.NewClusterClient(&o)
	default:
		o := *t.server
		return redis.NewClient(&o)
	}
}

// MakeRedisClient opens a new client: it makes a RedisTarget an Asynq
// connection option, so Asynq's server and scheduler each own (and close)
// a pool of their own on any topology.
func (t RedisTarget) MakeRedisClient() any { return t.Open() }

// Addr names the target in log lines and errors (never with a password).
func (t RedisTarget) Addr() string {
	switch {
	case t.failover != nil:
		return fmt.Sprintf("sentinel master %q via %v", t.failover.MasterName, t.failover.SentinelAddrs)
	case t.cluster != nil:
		return fmt.Sprintf("cluster %v", t.cluster.Addrs)
	default:
		return t.server.Addr
	}
}
