package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// procWatcher samples another process's memory (VmRSS every 250 ms) and
// reads its CPU time at start and end, from /proc (Linux only).
type procWatcher struct {
	pid      int
	stop     chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex
	rssStart int64 // kB
	rssPeak  int64 // kB, the largest VmRSS sampled
	nSamples int64
	cpuStart time.Duration
	err      error
}

// Process is what the report says about Parley's process.
type Process struct {
	PID int `json:"pid"`
	// VmHWMKB is the kernel's high-water mark of the resident set, over the
	// whole life of the process (not only this run).
	VmHWMKB int64 `json:"vm_hwm_kb"`
	// RSSStartKB and RSSPeakKB are VmRSS when the run started and the
	// largest value sampled every 250 ms during it.
	RSSStartKB int64 `json:"rss_start_kb"`
	RSSPeakKB  int64 `json:"rss_peak_sampled_kb"`
	RSSEndKB   int64 `json:"rss_end_kb"`
	Samples    int64 `json:"rss_samples"`
	// CPUSeconds is user+system CPU time the process used during the run;
	// CPUCores is that divided by the run's wall time.
	CPUSeconds float64 `json:"cpu_seconds"`
	CPUCores   float64 `json:"cpu_cores"`
	Error      string  `json:"error,omitempty"`
}

// clockTicks is the unit of utime and stime in /proc/PID/stat (USER_HZ,
// 100 on every Linux parley-load runs on).
const clockTicks = 100

func startProcWatcher(pid int) (*procWatcher, error) {
	p := &procWatcher{pid: pid, stop: make(chan struct{})}
	st, err := readStatus(pid)
	if err != nil {
		return nil, err
	}
	p.rssStart, p.rssPeak, p.nSamples = st["VmRSS"], st["VmRSS"], 1
	if p.cpuStart, err = readCPU(pid); err != nil {
		return nil, err
	}
	p.wg.Go(func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				st, err := readStatus(pid)
				p.mu.Lock()
				if err != nil {
					p.err = err
				} else {
					p.rssPeak = max(p.rssPeak, st["VmRSS"])
					p.nSamples++
				}
				p.mu.Unlock()
				if err != nil {
					return
				}
			}
		}
	})
	return p, nil
}

// finish stops sampling and reads the high-water mark and CPU time.
func (p *procWatcher) finish(wall time.Duration) Process {
	close(p.stop)
	p.wg.Wait()
	r := Process{PID: p.pid, RSSStartKB: p.rssStart, RSSPeakKB: p.rssPeak, Samples: p.nSamples}
	if p.err != nil {
		r.Error = p.err.Error()
	}
	st, err := readStatus(p.pid)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	r.VmHWMKB, r.RSSEndKB = st["VmHWM"], st["VmRSS"]
	r.RSSPeakKB = max(r.RSSPeakKB, r.RSSEndKB)
	if cpu, err := readCPU(p.pid); err == nil {
		used := cpu - p.cpuStart
		r.CPUSeconds = roundTo(used.Seconds(), 2)
		if wall > 0 {
			r.CPUCores = roundTo(used.Seconds()/wall.Seconds(), 2)
		}
	}
	return r
}

// readStatus reads the kB fields of /proc/PID/status.
func readStatus(pid int) (map[string]int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, fmt.Errorf("process %d: %w", pid, err)
	}
	return parseStatus(raw), nil
}

func parseStatus(raw []byte) map[string]int64 {
	out := map[string]int64{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(value)
		if len(f) == 2 && f[1] == "kB" {
			if n, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				out[name] = n
			}
		}
	}
	return out
}

// readCPU is the user+system CPU time of a process, from /proc/PID/stat.
func readCPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("process %d: %w", pid, err)
	}
	// The command name is in parentheses and may hold spaces: the fields
	// that follow are counted from the last ')'.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0, fmt.Errorf("process %d: unreadable stat", pid)
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("process %d: short stat", pid)
	}
	// After ')' come state (field 3), ...; utime and stime are fields 14
	// and 15 of the whole line, so 11 and 12 here.
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("process %d: unreadable stat times", pid)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// selfCPU is this process's own user+system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func roundTo(x float64, places int) float64 {
	p := 1.0
	for range places {
		p *= 10
	}
	if x < 0 {
		return -float64(int64(-x*p+0.5)) / p
	}
	return float64(int64(x*p+0.5)) / p
}
