package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the result of one run; -json prints it and -out writes it.
type Report struct {
	Tool      string    `json:"tool"`
	StartedAt time.Time `json:"started_at"`
	Target    string    `json:"target"`
	PublicURL string    `json:"public_url"`
	Settings  Settings  `json:"settings"`
	// DurationSeconds is the load phase: from the first webhook sent to the
	// last answer received. The drain that follows is not in it.
	DurationSeconds float64 `json:"duration_seconds"`
	// StoppedBy is what ended the load phase: count, duration or interrupt.
	StoppedBy string   `json:"stopped_by"`
	Webhooks  Webhooks `json:"webhooks"`
	Outbound  Outbound `json:"outbound"`
	// StatusCallbacks is present with -status-callbacks.
	StatusCallbacks *Callbacks `json:"status_callbacks,omitempty"`
	// Desk is present with -desk-user.
	Desk *Desk `json:"desk,omitempty"`
	// Process is Parley's process, with -pid.
	Process *Process `json:"process,omitempty"`
	// LoadToolCPUSeconds is the CPU time parley-load itself used, which on
	// a small machine is taken from Parley.
	LoadToolCPUSeconds float64 `json:"load_tool_cpu_seconds"`
	// DrainSeconds is how long the run waited after the load phase for
	// Parley's outbound sends, callbacks and desk events to finish.
	DrainSeconds float64 `json:"drain_seconds"`
}

// Settings echo the flags that shaped the run.
type Settings struct {
	Contacts        int     `json:"contacts"`
	WhatsAppShare   float64 `json:"whatsapp_share"`
	Rate            float64 `json:"rate_per_s"`
	Concurrency     int     `json:"concurrency"`
	DurationLimit   string  `json:"duration_limit"`
	CountLimit      int64   `json:"count_limit"`
	Timeout         string  `json:"timeout"`
	StatusCallbacks bool    `json:"status_callbacks"`
	FakeTwilioURL   string  `json:"fake_twilio_url"`
	DeskUser        string  `json:"desk_user,omitempty"`
}

// Webhooks describes the inbound-message webhooks posted to Parley.
type Webhooks struct {
	Sent     int64 `json:"sent"`
	Answered int64 `json:"answered"`
	OK       int64 `json:"ok"`
	// Throughput is Answered per second of DurationSeconds; OKPerSecond
	// counts 2xx answers only.
	Throughput  float64 `json:"throughput_per_s"`
	OKPerSecond float64 `json:"ok_per_s"`
	// Latency is from just before each request was sent until its answer's
	// body was read, for every answered request whatever its status.
	Latency  Latency          `json:"latency"`
	ByStatus map[string]int64 `json:"by_status"`
	// Errors counts failures: connect, timeout, reset, other (no answer),
	// and http_<code> for answers that were not 2xx.
	Errors map[string]int64 `json:"errors"`
	// ScheduleLag is, with -rate, how late each send started against its
	// slot in the fixed schedule (all senders busy, or the machine busy).
	ScheduleLag *Latency `json:"schedule_lag,omitempty"`
	// AchievedRate is Sent per second of the load phase.
	AchievedRate float64 `json:"achieved_rate_per_s"`
}

// Outbound describes the Messages create calls Parley made to the fake
// Twilio, during the load phase and the drain.
type Outbound struct {
	Received  int64            `json:"received"`
	Accepted  int64            `json:"accepted"`
	Rejected  map[string]int64 `json:"rejected"`
	ByChannel map[string]int64 `json:"by_channel"`
	// PerSecond is Accepted per second from the start of the load phase to
	// the last accepted send.
	PerSecond float64 `json:"per_s"`
	// LastAfterLoadSeconds is how long after the load phase ended the last
	// send arrived (0 if none came after it): Parley's send backlog.
	LastAfterLoadSeconds float64 `json:"last_after_load_s"`
	// FromInbound is, for each accepted send, the time since the latest
	// webhook from its recipient was sent. It is the inbound-to-reply time
	// when the send answers that webhook. When the customer wrote again
	// before the reply left, it counts from the later webhook and so
	// understates; a send no webhook caused (a timer's text) is counted
	// from the customer's latest webhook all the same.
	FromInbound Latency `json:"from_inbound"`
	Unmatched   int64   `json:"unmatched"`
}

// Callbacks describes the status callbacks the fake Twilio posted.
type Callbacks struct {
	Posted    int64            `json:"posted"`
	ByStatus  map[string]int64 `json:"by_status"`
	Errors    map[string]int64 `json:"errors"`
	Latency   Latency          `json:"latency"`
	Dropped   int64            `json:"dropped"`
	Abandoned int64            `json:"abandoned"`
}

// Desk describes the desk's live-update stream.
type Desk struct {
	User   string           `json:"user"`
	Events map[string]int64 `json:"events"`
	// MessageIn splits the message.in events by whose conversation they are
	// about, as looked up after the run.
	MessageIn MessageIn `json:"message_in"`
	// ForeignConversations counts conversations this Parley does not know
	// that the stream carried events about (see README: pub/sub is shared
	// by all databases of a Redis server).
	ForeignConversations int64 `json:"foreign_conversations,omitempty"`
	// InboundToDesk is, per message.in event of this Parley's
	// conversations, the time it was read from the stream minus the event's
	// "at" (the engine's clock for that message, read just before its
	// atomic store): store, publish, fan-out and stream delivery.
	InboundToDesk Latency `json:"inbound_to_desk"`
	// Reconnects counts streams that ended during the run (each reopened at
	// once); DisconnectedSeconds is the time without a subscribed stream,
	// during which events are lost.
	Reconnects          int64   `json:"reconnects"`
	DisconnectedSeconds float64 `json:"disconnected_s"`
	StreamEnded         string  `json:"stream_ended,omitempty"`
	// ClockEarly counts events read before their "at" (recorded as 0).
	ClockEarly int64 `json:"clock_early,omitempty"`
}

// MessageIn counts message.in events on the desk stream.
type MessageIn struct {
	Received   int64 `json:"received"`
	Ours       int64 `json:"ours"`
	Foreign    int64 `json:"foreign"`
	Unverified int64 `json:"unverified"`
}

// printTable writes the report for a person.
func printTable(w io.Writer, r Report) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k string, format string, a ...any) { fmt.Fprintf(tw, "%s\t%s\n", k, fmt.Sprintf(format, a...)) }
	lat := func(k string, l Latency) {
		if l.Count == 0 {
			row(k, "none")
			return
		}
		row(k, "p50 %.2f  p90 %.2f  p99 %.2f  max %.2f  mean %.2f ms  (n=%d%s)",
			l.P50, l.P90, l.P99, l.Max, l.Mean, l.Count, sampledNote(l))
	}
	row("target", "%s (signed for %s)", r.Target, r.PublicURL)
	s := r.Settings
	rate := "as fast as the senders go"
	if s.Rate > 0 {
		rate = fmt.Sprintf("%g/s", s.Rate)
	}
	limit := "no count limit"
	if s.CountLimit > 0 {
		limit = fmt.Sprintf("%d messages", s.CountLimit)
	}
	row("load", "%d contacts (%.0f%% WhatsApp), concurrency %d, rate %s, limits %s / %s",
		s.Contacts, s.WhatsAppShare*100, s.Concurrency, rate, s.DurationLimit, limit)
	row("duration", "%.2f s (stopped by %s), then %.2f s drain", r.DurationSeconds, r.StoppedBy, r.DrainSeconds)
	wh := r.Webhooks
	row("webhooks sent", "%d (%.1f/s)", wh.Sent, wh.AchievedRate)
	row("answered", "%d, %d 2xx: throughput %.1f/s answered, %.1f/s 2xx", wh.Answered, wh.OK, wh.Throughput, wh.OKPerSecond)
	lat("webhook latency", wh.Latency)
	row("answers by status", "%s", counts(wh.ByStatus))
	row("errors", "%s", counts(wh.Errors))
	if wh.ScheduleLag != nil {
		lat("schedule lag", *wh.ScheduleLag)
	}
	o := r.Outbound
	row("outbound sends", "%d received, %d accepted (%.1f/s), rejected: %s; by channel: %s",
		o.Received, o.Accepted, o.PerSecond, counts(o.Rejected), counts(o.ByChannel))
	if o.LastAfterLoadSeconds > 0 {
		row("", "last send %.2f s after the load phase ended", o.LastAfterLoadSeconds)
	}
	lat("send since inbound", o.FromInbound)
	if o.Unmatched > 0 {
		row("", "%d sends to numbers this run did not write from", o.Unmatched)
	}
	if cb := r.StatusCallbacks; cb != nil {
		row("status callbacks", "%d posted, answers: %s, errors: %s, dropped %d, abandoned %d",
			cb.Posted, counts(cb.ByStatus), counts(cb.Errors), cb.Dropped, cb.Abandoned)
		lat("callback latency", cb.Latency)
	}
	if d := r.Desk; d != nil {
		row("desk events", "as %s: %s", d.User, counts(d.Events))
		m := d.MessageIn
		row("desk message.in", "%d received: %d of this Parley's conversations, %d of %d conversations it does not know, %d unverified",
			m.Received, m.Ours, m.Foreign, d.ForeignConversations, m.Unverified)
		lat("inbound to desk", d.InboundToDesk)
		if d.Reconnects > 0 {
			row("desk stream", "ended %d times (last: %s), %.3f s without a stream", d.Reconnects, d.StreamEnded, d.DisconnectedSeconds)
		}
	}
	if p := r.Process; p != nil {
		row("parley memory", "VmHWM %s, RSS start %s, peak sampled %s, end %s",
			kb(p.VmHWMKB), kb(p.RSSStartKB), kb(p.RSSPeakKB), kb(p.RSSEndKB))
		row("parley cpu", "%.2f s (%.2f cores)", p.CPUSeconds, p.CPUCores)
		if p.Error != "" {
			row("process error", "%s", p.Error)
		}
	}
	row("parley-load cpu", "%.2f s", r.LoadToolCPUSeconds)
	tw.Flush()
}

func sampledNote(l Latency) string {
	if l.Sampled < l.Count {
		return fmt.Sprintf(", percentiles from %d sampled", l.Sampled)
	}
	return ""
}

func counts(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

func kb(n int64) string {
	return fmt.Sprintf("%.1f MB", float64(n)/1024)
}
