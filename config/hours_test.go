package config

import (
	"strings"
	"testing"
	"time"
)

func compiled(t *testing.T, h Hours) *Hours {
	t.Helper()
	if err := h.Compile(); err != nil {
		t.Fatal(err)
	}
	return &h
}

func TestHoursOpen(t *testing.T) {
	h := compiled(t, Hours{
		Timezone: "Africa/Johannesburg", // UTC+2, no daylight saving
		Weekly: map[string][]string{
			"Monday":   {"08:00-12:30", "13:30-17:00"},
			"saturday": {"09:00-24:00"},
		},
		Holidays: []string{"2026-03-09"},
	})
	for _, tc := range []struct {
		utc  string
		open bool
	}{
		{"2026-03-02T05:59:00Z", false}, // Monday 07:59 local
		{"2026-03-02T06:00:00Z", true},  // 08:00: a range includes its start
		{"2026-03-02T10:29:00Z", true},  // 12:29
		{"2026-03-02T10:30:00Z", false}, // 12:30: and excludes its end
		{"2026-03-02T11:30:00Z", true},  // 13:30, second range
		{"2026-03-02T15:00:00Z", false}, // 17:00
		{"2026-03-03T08:00:00Z", false}, // Tuesday: no ranges
		{"2026-03-09T08:00:00Z", false}, // a Monday that is a holiday
		{"2026-03-07T21:59:00Z", true},  // Saturday 23:59, open to midnight
		{"2026-03-07T22:00:00Z", false}, // Sunday 00:00 local
	} {
		at, _ := time.Parse(time.RFC3339, tc.utc)
		if got := h.Open(at); got != tc.open {
			t.Errorf("Open(%s) = %v, want %v", tc.utc, got, tc.open)
		}
	}
}

func TestHoursAlwaysOpenButHolidays(t *testing.T) {
	h := compiled(t, Hours{Holidays: []string{"2026-12-25"}})
	if !h.Open(time.Date(2026, 12, 24, 23, 0, 0, 0, time.UTC)) || h.Open(time.Date(2026, 12, 25, 12, 0, 0, 0, time.UTC)) {
		t.Fatal("with no weekly schedule: open every day but holidays")
	}
}

func TestHoursInvalid(t *testing.T) {
	for _, tc := range []struct {
		h    Hours
		want string
	}{
		{Hours{Timezone: "Mars/Olympus"}, "timezone"},
		{Hours{Weekly: map[string][]string{"funday": {"08:00-09:00"}}}, "funday"},
		{Hours{Weekly: map[string][]string{"monday": {"17:00-08:00"}}}, "start before the end"},
		{Hours{Weekly: map[string][]string{"monday": {"8-9"}}}, "HH:MM"},
		{Hours{Weekly: map[string][]string{"monday": {"08:00-25:00"}}}, "HH:MM"},
		{Hours{Holidays: []string{"25/12/2026"}}, "holidays"},
	} {
		if err := tc.h.Compile(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Compile(%+v) = %v, want an error mentioning %q", tc.h, err, tc.want)
		}
	}
}

func TestDepartmentByNumber(t *testing.T) {
	e := defaultEngine()
	e.Departments = []Department{
		{ID: "sales", Numbers: []string{"whatsapp:+14155238886"}},
		{ID: "support", Numbers: []string{"+15005550006"}},
	}
	e.DefaultDepartment = "support"
	for to, want := range map[string]string{
		"whatsapp:+14155238886": "sales",
		"sms:+15005550006":      "support",
		"+15005550006":          "support",
		"whatsapp:+19999999999": "support", // anything else: the default
	} {
		if got := e.Department(to); got != want {
			t.Errorf("Department(%q) = %q, want %q", to, got, want)
		}
	}
}

func TestEngineValidation(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want string
	}{
		{"default_department: nowhere\ndepartments: [{id: sales}]", "default_department"},
		{"departments: [{id: a}, {id: a}]\ndefault_department: a", "departments[1].id"},
		{"agents: [{id: ann, role: boss}]", "agents[0].role"},
		{"agents: [{id: ann, departments: [nowhere]}]", "unknown department"},
		{"timeouts: {inactivity_timeout: 0s}", "PARLEY_INACTIVITY_TIMEOUT"},
		{"business_hours: {timezone: Nowhere/City}", "business_hours.timezone"},
	} {
		cfg := Default()
		if err := decodeYAML([]byte(tc.yaml), &cfg); err != nil {
			t.Fatalf("%q: %v", tc.yaml, err)
		}
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: Validate() = %v, want an error mentioning %q", tc.yaml, err, tc.want)
		}
	}
}
