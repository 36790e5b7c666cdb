package config

import (
	"fmt"
	"strings"
	"time"
)

// Hours is a business-hours calendar: a weekly schedule of open ranges in
// one IANA time zone, and holiday dates that are closed all day. An empty
// weekly schedule means always open.
type Hours struct {
	Timezone string              `yaml:"timezone"`
	Weekly   map[string][]string `yaml:"weekly"`
	Holidays []string            `yaml:"holidays"`

	loc      *time.Location
	days     [7][]span // by time.Weekday
	holidays map[string]bool
}

// span is an open range in minutes after midnight, [from, to).
type span struct{ from, to int }

var weekdays = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

// Compile parses the calendar; Open may only be called on a compiled one.
func (h *Hours) Compile() error {
	tz := h.Timezone
	if tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return fmt.Errorf("timezone: unknown zone %q", tz)
	}
	h.loc = loc
	h.days = [7][]span{}
	for day, ranges := range h.Weekly {
		wd, ok := weekdays[strings.ToLower(day)]
		if !ok {
			return fmt.Errorf("weekly: %q is not a day of the week", day)
		}
		for _, r := range ranges {
			s, err := parseSpan(r)
			if err != nil {
				return fmt.Errorf("weekly.%s: %w", day, err)
			}
			h.days[wd] = append(h.days[wd], s)
		}
	}
	h.holidays = map[string]bool{}
	for _, d := range h.Holidays {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return fmt.Errorf("holidays: %q is not a date like 2026-12-25", d)
		}
		h.holidays[d] = true
	}
	return nil
}

// parseSpan reads "08:00-17:00"; "24:00" may end a range.
func parseSpan(r string) (span, error) {
	from, to, ok := strings.Cut(strings.TrimSpace(r), "-")
	if !ok {
		return span{}, fmt.Errorf("%q: want HH:MM-HH:MM", r)
	}
	f, err1 := clock(from)
	t, err2 := clock(to)
	if err1 != nil || err2 != nil || f >= t {
		return span{}, fmt.Errorf("%q: want HH:MM-HH:MM with the start before the end", r)
	}
	return span{f, t}, nil
}

func clock(s string) (int, error) {
	var hh, mm int
	if _, err := fmt.Sscanf(strings.TrimSpace(s), "%d:%d", &hh, &mm); err != nil {
		return 0, err
	}
	if hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("bad time %q", s)
	}
	return hh*60 + mm, nil
}

// AlwaysOpen reports whether no weekly schedule is set.
func (h *Hours) AlwaysOpen() bool { return len(h.Weekly) == 0 }

// Open reports whether t falls in business hours.
func (h *Hours) Open(t time.Time) bool {
	if h.loc == nil {
		panic("config: Hours.Open on a calendar that was not compiled")
	}
	local := t.In(h.loc)
	if h.holidays[local.Format(time.DateOnly)] {
		return false
	}
	if h.AlwaysOpen() {
		return true
	}
	m := local.Hour()*60 + local.Minute()
	for _, s := range h.days[local.Weekday()] {
		if m >= s.from && m < s.to {
			return true
		}
	}
	return false
}
