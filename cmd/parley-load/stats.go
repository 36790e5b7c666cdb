package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"
)

// maxSamples bounds the memory one latency series may hold: 1,000,000
// durations are 8 MB. Up to the bound every sample is kept; beyond it the
// series keeps a uniform random subset of that size (reservoir sampling),
// while the count, the mean and the maximum stay exact.
const maxSamples = 1_000_000

// samples is one latency series, safe for concurrent use.
type samples struct {
	mu    sync.Mutex
	limit int
	vals  []time.Duration
	n     int64
	sum   time.Duration
	max   time.Duration
	rng   *rand.Rand
}

func newSamples(limit int) *samples {
	if limit <= 0 {
		limit = maxSamples
	}
	return &samples{limit: limit, rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
}

func (s *samples) add(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	s.sum += d
	s.max = max(s.max, d)
	if len(s.vals) < s.limit {
		s.vals = append(s.vals, d)
		return
	}
	if j := s.rng.Int64N(s.n); j < int64(s.limit) {
		s.vals[j] = d
	}
}

// Latency is a latency series as reported, in milliseconds.
type Latency struct {
	Count int64 `json:"count"`
	// Sampled is how many of Count the percentiles were computed from (all
	// of them up to 1,000,000).
	Sampled int64   `json:"sampled"`
	Mean    float64 `json:"mean_ms"`
	P50     float64 `json:"p50_ms"`
	P90     float64 `json:"p90_ms"`
	P99     float64 `json:"p99_ms"`
	Max     float64 `json:"max_ms"`
}

func (s *samples) summary() Latency {
	s.mu.Lock()
	vals := slices.Clone(s.vals)
	n, sum, worst := s.n, s.sum, s.max
	s.mu.Unlock()
	return summarize(vals, n, sum, worst)
}

// summarize reports a series of n values summing to sum with maximum worst,
// of which vals (put in order here) are all or a uniform sample.
func summarize(vals []time.Duration, n int64, sum, worst time.Duration) Latency {
	slices.Sort(vals)
	l := Latency{Count: n, Sampled: int64(len(vals)), Max: ms(worst)}
	if n > 0 {
		l.Mean = ms(sum / time.Duration(n))
	}
	l.P50 = ms(percentile(vals, 50))
	l.P90 = ms(percentile(vals, 90))
	l.P99 = ms(percentile(vals, 99))
	return l
}

// percentile is the nearest-rank percentile of an ascending slice: the
// smallest value such that at least p% of the values are at or below it.
// It is 0 for an empty slice.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// ms is d in milliseconds, rounded to the microsecond.
func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)) / 1000
}

// tally counts occurrences by name, safe for concurrent use.
type tally struct {
	mu sync.Mutex
	m  map[string]int64
}

func (t *tally) add(key string) {
	t.mu.Lock()
	if t.m == nil {
		t.m = map[string]int64{}
	}
	t.m[key]++
	t.mu.Unlock()
}

func (t *tally) snapshot() map[string]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]int64, len(t.m))
	for k, v := range t.m {
		out[k] = v
	}
	return out
}

// sortedKeys lists a count map's keys in order, numbers numerically.
func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, errA := strconv.Atoi(keys[i])
		b, errB := strconv.Atoi(keys[j])
		if errA == nil && errB == nil {
			return a < b
		}
		return keys[i] < keys[j]
	})
	return keys
}

func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return math.Round(float64(n)/d.Seconds()*10) / 10
}
