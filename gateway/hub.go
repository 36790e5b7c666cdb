package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/parleydesk/parley/desk/engine"

	"github.com/redis/go-redis/v9"

	"github.com/parleydesk/parley/desk/sessions"
)

// Hub is the one Redis subscription of a gateway process: it receives every
// live update from Redis pub/sub and fans it out to this process's event
// streams, so Redis holds one connection per gateway however many desks are
// open (and a desk on any gateway still sees changes made through any
// other). It also caps the streams per user and tells a user's streams to
// check their session again when some of the user's sessions end.
type Hub struct {
	rdb        redis.UniversalClient
	channel    string
	maxPerUser int

	// selfRun makes the first stream start Run (a hub New made for a
	// caller that gave none); ready is closed once Run has subscribed.
	selfRun   bool
	startOnce sync.Once
	ready     chan struct{}

	mu      sync.Mutex
	byUser  map[string][]*stream // each user's streams, oldest first
	closed  bool
	stop    context.CancelFunc // ends Run; nil until Run starts
	stopped chan struct{}      // closed when Run has returned
}

// streamsPerUser is how many event streams one user may hold on a gateway
// (a few tabs and devices); opening one more closes their oldest.
const streamsPerUser = 8

// streamBuffer is how many events a stream may lag behind; a desk slower
// than that is closed and, reconnecting, reloads what it shows.
const streamBuffer = 256

var errHubClosed = newError(http.StatusServiceUnavailable, "shutting_down", "the gateway is shutting down; reconnect")

// stream is one desk's event stream, as the hub sees it.
type stream struct {
	user  string
	token string // the session it was opened with
	// events carries each published event, raw and decoded.
	events chan hubEvent
	// recheck asks the stream to check its session now.
	recheck chan struct{}
	// gone is closed when the hub ends the stream (a newer stream of the
	// same user, a slow reader, shutdown).
	gone chan struct{}
	once sync.Once
}

type hubEvent struct {
	raw   string
	event engine.Event
}

func (s *stream) end() { s.once.Do(func() { close(s.gone) }) }

// NewHub returns a hub for the live-update channel; Run starts it.
func NewHub(rdb redis.UniversalClient, channel string) *Hub {
	return &Hub{rdb: rdb, channel: channel, maxPerUser: streamsPerUser, byUser: map[string][]*stream{},
		stopped: make(chan struct{}), ready: make(chan struct{})}
}

// Run holds the subscription until ctx ends or Close is called. go-redis
// re-subscribes by itself after a lost connection.
func (h *Hub) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	h.mu.Lock()
	if h.closed || h.stop != nil {
		h.mu.Unlock()
		cancel()
		return errors.New("hub: closed or already running")
	}
	h.stop = cancel
	h.mu.Unlock()
	defer close(h.stopped)
	defer cancel()

	sub := h.rdb.Subscribe(ctx, h.channel)
	defer sub.Close()
	if _, err := sub.Receive(ctx); err == nil { // subscribed: streams may rely on it
		close(h.ready)
	}
	msgs := sub.Channel(redis.WithChannelSize(1024))
	for {
		select {
		case <-ctx.Done():
			h.endAll()
			return nil
		case msg, ok := <-msgs:
			if !ok {
				h.endAll()
				return nil
			}
			var e engine.Event
			if json.Unmarshal([]byte(msg.Payload), &e) != nil {
				continue
			}
			h.deliver(hubEvent{raw: msg.Payload, event: e})
		}
	}
}

// Close ends every stream and the subscription, and waits for Run to
// return, so shutdown does not wait for streams to time out.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	stop := h.stop
	h.mu.Unlock()
	h.endAll()
	if stop != nil {
		stop()
		<-h.stopped
	}
}

func (h *Hub) deliver(he hubEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if he.event.Type == sessions.EventEnded {
		for _, s := range h.byUser[he.event.Agent] {
			select {
			case s.recheck <- struct{}{}:
			default: // a check is already asked for
			}
		}
		return
	}
	for _, list := range h.byUser {
		for _, s := range list {
			select {
			case s.events <- he:
			default:
				s.end() // too far behind: the desk reconnects and reloads
			}
		}
	}
}

// open registers a stream for a user's session, closing the user's oldest
// when they hold too many.
func (h *Hub) open(user, token string) (*stream, error) {
	if h.selfRun {
		h.startOnce.Do(func() { go func() { _ = h.Run(context.Background()) }() })
		select {
		case <-h.ready:
		case <-time.After(5 * time.Second): // Redis is slow: go-redis keeps trying
		}
	}
	s := &stream{user: user, token: token, events: make(chan hubEvent, streamBuffer),
		recheck: make(chan struct{}, 1), gone: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, errHubClosed
	}
	list := append(h.byUser[user], s)
	for len(list) > h.maxPerUser {
		list[0].end()
		list = list[1:]
	}
	h.byUser[user] = list
	return s, nil
}

// release forgets a stream that has ended.
func (h *Hub) release(s *stream) {
	s.end()
	h.mu.Lock()
	defer h.mu.Unlock()
	list := h.byUser[s.user]
	for i, x := range list {
		if x == s {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(h.byUser, s.user)
	} else {
		h.byUser[s.user] = list
	}
}

func (h *Hub) endAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, list := range h.byUser {
		for _, s := range list {
			s.end()
		}
	}
}

// streams counts the open streams (for tests and metrics).
func (h *Hub) streams() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, list := range h.byUser {
		n += len(list)
	}
	return n
}
