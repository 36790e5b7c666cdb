package main

import (
	"time"

	"github.com/alicebob/miniredis/v2"
)

// embeddedRedis is the in-process, in-memory Redis used when no
// PARLEY_REDIS_URL is set. Nothing in it survives a restart.
type embeddedRedis struct {
	mini *miniredis.Miniredis
	stop chan struct{}
	done chan struct{}
}

func startEmbeddedRedis() (*embeddedRedis, error) {
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, err
	}
	e := &embeddedRedis{mini: m, stop: make(chan struct{}), done: make(chan struct{})}
	go e.tick()
	return e, nil
}

// tick moves miniredis's clock: it only expires keys when told that time
// has passed, and Asynq relies on expiring locks and leases.
func (e *embeddedRedis) tick() {
	defer close(e.done)
	const step = 250 * time.Millisecond
	t := time.NewTicker(step)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
			e.mini.FastForward(step)
		}
	}
}

func (e *embeddedRedis) URL() string { return "redis://" + e.mini.Addr() }

func (e *embeddedRedis) Close() {
	close(e.stop)
	<-e.done
	e.mini.Close()
}
