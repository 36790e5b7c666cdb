package config

import (
	"testing"
	"time"
)

// FuzzHours: any schedule either compiles or is refused; a compiled one
// answers Open for any time without panicking.
func FuzzHours(f *testing.F) {
	f.Add("monday", "08:00-17:00", "2026-12-25", "Africa/Johannesburg", int64(0))
	f.Add("Sunday", "24:00-25:00", "x", "", int64(-1))
	f.Add("friday", "00:00-24:00", "", "UTC", int64(1<<40))
	f.Fuzz(func(t *testing.T, day, span, holiday, tz string, at int64) {
		h := Hours{Timezone: tz, Weekly: map[string][]string{day: {span}}, Holidays: []string{holiday}}
		if h.Compile() != nil {
			return
		}
		h.Open(time.Unix(at, 0))
	})
}

// FuzzYAML: any configuration file is loaded or refused with an error;
// never a panic.
func FuzzYAML(f *testing.F) {
	f.Add("listen: 0.0.0.0:9000\ntimeouts: {queue_timeout: 0s}\n")
	f.Add("business_hours: {weekly: {monday: [\"8-9\"]}}")
	f.Add("departments: [{id: a, business_hours: {timezone: Nowhere}}]")
	f.Fuzz(func(t *testing.T, doc string) {
		cfg := Default()
		if decodeYAML([]byte(doc), &cfg) != nil {
			return
		}
		_ = cfg.Validate()
	})
}
