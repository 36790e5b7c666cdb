package config

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Engine is what the conversation engine decides with: departments and their
// hours, the agents seeded at start, every timeout, and every text Parley
// sends on its own.
type Engine struct {
	Hours             Hours        `yaml:"business_hours"`
	Departments       []Department `yaml:"departments"`
	DefaultDepartment string       `yaml:"default_department"`
	Agents            []Agent      `yaml:"agents"`
	Timeouts          Timeouts     `yaml:"timeouts"`
	Texts             Texts        `yaml:"texts"`
	// Tags are the labels an agent may put on a chat when closing it.
	Tags []string `yaml:"tags"`
	// Templates are the approved WhatsApp templates agents may send.
	Templates []Template `yaml:"templates"`
	// CannedReplies are ready answers an agent inserts by shortcut.
	CannedReplies []CannedReply `yaml:"canned_replies"`
	// Bots hold conversations first and hand off to people.
	Bots []Bot `yaml:"bots"`
	// Survey, when enabled, asks the customer for a 1-5 rating after a chat
	// closes.
	Survey Survey `yaml:"survey"`
	// Transcript is the offer of a transcript to a customer who ends a chat.
	Transcript Transcript `yaml:"transcript"`
	// PauseIgnoringAgent stops routing new chats to an agent who let one
	// time out, until they set themselves online again.
	PauseIgnoringAgent bool `yaml:"pause_ignoring_agent"`
}

// Department groups agents and the numbers customers write to.
type Department struct {
	ID      string   `yaml:"id"`
	Name    string   `yaml:"name"`
	Numbers []string `yaml:"numbers"`
	// Hours, when set, replaces the global business hours.
	Hours *Hours `yaml:"business_hours"`
}

// Agent is an agent seeded from configuration.
type Agent struct {
	ID          string   `yaml:"id"`
	Name        string   `yaml:"name"`
	Role        string   `yaml:"role"`
	Departments []string `yaml:"departments"`
	Capacity    int      `yaml:"capacity"`
	Online      bool     `yaml:"online"`
}

// Template is a WhatsApp template: its Twilio Content SID, the names of its
// variables ("1", "2", ... in Twilio's numbering) and a preview text with
// {{1}}-style placeholders. An admin enters one by hand (Source empty), or
// `parley templates sync` reads it from Twilio's Content API (Source
// "twilio") with its language, types, sample values and WhatsApp approval.
type Template struct {
	Name       string   `yaml:"name" json:"name"`
	ContentSID string   `yaml:"content_sid" json:"content_sid"`
	Variables  []string `yaml:"variables" json:"variables"`
	Preview    string   `yaml:"preview" json:"preview"`

	// Source is "" for a hand-entered template, TemplateFromTwilio for a
	// synced one (replaced by each sync, removed when Twilio no longer has it).
	Source   string            `yaml:"source,omitempty" json:"source,omitempty"`
	Language string            `yaml:"language,omitempty" json:"language,omitempty"`
	Types    []string          `yaml:"types,omitempty" json:"types,omitempty"`
	Samples  map[string]string `yaml:"samples,omitempty" json:"samples,omitempty"`
	// Status is WhatsApp's approval (approved, pending, rejected, paused,
	// disabled, unsubmitted, ...); Category is WhatsApp's (UTILITY,
	// MARKETING, AUTHENTICATION).
	Status    string `yaml:"status,omitempty" json:"status,omitempty"`
	Category  string `yaml:"category,omitempty" json:"category,omitempty"`
	Rejection string `yaml:"rejection_reason,omitempty" json:"rejection_reason,omitempty"`
}

// TemplateFromTwilio marks a template read from Twilio's Content API.
const TemplateFromTwilio = "twilio"

// TemplateApproved is WhatsApp's approval status of a sendable template.
const TemplateApproved = "approved"

// Sendable reports whether the template may go to a customer outside the
// 24-hour window: a synced one once WhatsApp approved it; a hand-entered
// one always, since the admin who entered it vouches for it.
func (t *Template) Sendable() bool {
	return t.Source != TemplateFromTwilio || t.Status == TemplateApproved
}

// Template returns the template with a Content SID, nil if none.
func (e *Engine) Template(contentSID string) *Template {
	for i := range e.Templates {
		if e.Templates[i].ContentSID == contentSID {
			return &e.Templates[i]
		}
	}
	return nil
}

// Bot is an external bot that answers first. Its secret (signing events
// and authenticating callbacks) comes from the environment variable named
// by SecretEnv, never from the file.
type Bot struct {
	ID  string `yaml:"id"`
	URL string `yaml:"url"`
	// SecretEnv names the environment variable holding the bot's secret;
	// during a key change-over, a list of them (the new one first).
	SecretEnv EnvNames `yaml:"secret_env"`
	// Departments and Numbers choose the conversations the bot takes: a
	// conversation of one of the departments, or to one of the numbers.
	Departments []string      `yaml:"departments"`
	Numbers     []string      `yaml:"numbers"`
	Timeout     time.Duration `yaml:"timeout"`
	// IdleTimeout is how long the bot may hold a chat in which neither it
	// nor the customer says anything before people take over; 0 means the
	// inactivity timeout.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// Active is in_hours, out_of_hours or always.
	Active string `yaml:"active"`
	// Secrets are read from SecretEnv at start, in its order.
	Secrets []string `yaml:"-"`
}

// EnvNames is one environment variable name, or a list of them; in YAML a
// string or a sequence.
type EnvNames []string

// UnmarshalYAML takes a string or a list of strings.
func (n *EnvNames) UnmarshalYAML(v *yaml.Node) error {
	if v.Kind == yaml.ScalarNode {
		*n = EnvNames{v.Value}
		return nil
	}
	var names []string
	if err := v.Decode(&names); err != nil {
		return errors.New("want an environment variable name or a list of them")
	}
	*n = names
	return nil
}

// MarshalYAML writes one name as a string, as it is usually written.
func (n EnvNames) MarshalYAML() (any, error) {
	if len(n) == 1 {
		return n[0], nil
	}
	return []string(n), nil
}

// Idle is how long the bot may hold a quiet chat under these settings.
func (e *Engine) Idle(b *Bot) time.Duration {
	if b.IdleTimeout > 0 {
		return b.IdleTimeout
	}
	return e.Timeouts.Inactivity
}

// BotFor returns the bot that takes a new conversation of dept, to number
// to, at a time the department is open or not; nil if none.
func (e *Engine) BotFor(dept, to string, open bool) *Bot {
	number := to
	if _, n, ok := strings.Cut(to, ":"); ok {
		number = n
	}
	for i := range e.Bots {
		b := &e.Bots[i]
		switch b.Active {
		case "in_hours":
			if !open {
				continue
			}
		case "out_of_hours":
			if open {
				continue
			}
		}
		if slices.Contains(b.Departments, dept) || slices.Contains(b.Numbers, to) || slices.Contains(b.Numbers, number) {
			return b
		}
	}
	return nil
}

// Bot returns the bot with id, nil if none.
func (e *Engine) Bot(id string) *Bot {
	for i := range e.Bots {
		if e.Bots[i].ID == id {
			return &e.Bots[i]
		}
	}
	return nil
}

// Survey is the optional post-chat rating.
type Survey struct {
	Enabled  bool   `yaml:"enabled"`
	Question string `yaml:"question"`
	Thanks   string `yaml:"thanks"`
}

// Transcript is the offer made to a customer who ends a chat: Offer is
// sent on closing, and a reply of the keyword TRANSCRIPT within Window
// gets Link, with {link} replaced by a signed address of the transcript
// that works for Valid. {minutes} in Offer is Window and {hours} in Link
// is Valid, rounded down. An empty Offer or a zero Window turns it off.
type Transcript struct {
	Offer  string        `yaml:"offer"`
	Link   string        `yaml:"link"`
	Window time.Duration `yaml:"window"`
	Valid  time.Duration `yaml:"valid"`
}

// CannedReply is a ready answer, inserted by typing its shortcut.
type CannedReply struct {
	Shortcut string `yaml:"shortcut" json:"shortcut"`
	Text     string `yaml:"text" json:"text"`
}

// Timeouts are the engine's timers.
type Timeouts struct {
	// Queue is how long a chat waits for an agent before it becomes a
	// ticket; 0 means it does not wait.
	Queue         time.Duration `yaml:"queue_timeout"`
	AgentResponse time.Duration `yaml:"agent_response_timeout"`
	Inactivity    time.Duration `yaml:"inactivity_timeout"`
	Pending       time.Duration `yaml:"pending_timeout"`
	TicketSession time.Duration `yaml:"ticket_session_timeout"`
	ArchiveAfter  time.Duration `yaml:"ticket_archive_after"`
}

// Texts are the messages Parley sends by itself. An empty text is not sent.
type Texts struct {
	OutOfHours   string `yaml:"out_of_hours"`
	NoAgent      string `yaml:"no_agent"`
	LeaveMessage string `yaml:"leave_message"`
	Collecting   string `yaml:"collecting"`
	Declined     string `yaml:"declined"`
	Ended        string `yaml:"ended"`
	// Queued may contain {position}, the chat's place in the queue.
	Queued string `yaml:"queued"`
}

func defaultEngine() Engine {
	return Engine{
		DefaultDepartment: "general",
		Timeouts: Timeouts{
			Queue:         5 * time.Minute,
			AgentResponse: 2 * time.Minute,
			Inactivity:    10 * time.Minute,
			Pending:       24 * time.Hour,
			TicketSession: 10 * time.Minute,
			ArchiveAfter:  90 * 24 * time.Hour,
		},
		Texts: Texts{
			OutOfHours:   "Thanks for getting in touch. Our team is offline at the moment, outside our working hours.",
			NoAgent:      "Thanks for getting in touch. Nobody from our team can take your chat right now.",
			LeaveMessage: "Would you like to leave a message for the team? Reply YES or NO. After YES, send as many messages as you need, then send //end to finish.",
			Collecting:   "Go ahead: everything you send now goes to the team. Send //end when you are done.",
			Declined:     "No problem. Write to us again whenever you like.",
			Ended:        "Thank you, your message is with the team and someone will get back to you.",
			Queued:       "Thanks for waiting: an agent will be with you shortly. You are number {position} in the queue.",
		},
		Survey: Survey{
			Question: "How did we do? Reply with a number from 1 (poor) to 5 (excellent), and a comment if you like.",
			Thanks:   "Thank you for your feedback.",
		},
		Transcript: Transcript{
			Offer:  "You have ended the chat. Thanks for talking to us! Reply TRANSCRIPT within {minutes} minutes for a link to a copy of this conversation.",
			Link:   "Here is your copy of the conversation. The link works for {hours} hours: {link}",
			Window: 10 * time.Minute,
			Valid:  24 * time.Hour,
		},
		Tags: []string{"billing", "complaint", "general enquiry", "technical"},
		Templates: []Template{{
			Name: "follow_up", ContentSID: "HX00000000000000000000000000000001", Variables: []string{"1"},
			Preview: "Hello {{1}}, we are following up on your recent message. Reply to continue the conversation.",
		}},
		CannedReplies: []CannedReply{
			{Shortcut: "/hello", Text: "Hello! Thanks for reaching out. How can I help you today?"},
			{Shortcut: "/thanks", Text: "Thank you for your patience. Is there anything else I can help with?"},
		},
		PauseIgnoringAgent: true,
	}
}

// Department returns the department customers reach by writing to the
// address to (a Twilio To value, with or without the whatsapp: prefix);
// the default department when no department lists it.
func (e *Engine) Department(to string) string {
	number := to
	if _, n, ok := strings.Cut(to, ":"); ok {
		number = n
	}
	for _, d := range e.Departments {
		for _, n := range d.Numbers {
			if n == to || n == number || strings.TrimPrefix(n, "whatsapp:") == number {
				return d.ID
			}
		}
	}
	return e.DefaultDepartment
}

// HoursOf returns the business hours that apply to a department.
func (e *Engine) HoursOf(dept string) *Hours {
	for i := range e.Departments {
		if e.Departments[i].ID == dept && e.Departments[i].Hours != nil {
			return e.Departments[i].Hours
		}
	}
	return &e.Hours
}

// DepartmentIDs lists every department, the default first.
func (e *Engine) DepartmentIDs() []string {
	ids := []string{e.DefaultDepartment}
	for _, d := range e.Departments {
		if d.ID != e.DefaultDepartment {
			ids = append(ids, d.ID)
		}
	}
	return ids
}

// HasTag reports whether tag is one of the configured tags.
func (e *Engine) HasTag(tag string) bool { return slices.Contains(e.Tags, tag) }

// Validate checks the engine settings and compiles their calendars.
func (e *Engine) Validate() error {
	if err := e.Hours.Compile(); err != nil {
		return fmt.Errorf("business_hours.%w", err)
	}
	if e.DefaultDepartment == "" {
		return errors.New("default_department: must not be empty")
	}
	seen := map[string]bool{}
	for i := range e.Departments {
		d := &e.Departments[i]
		if d.ID == "" || seen[d.ID] {
			return fmt.Errorf("departments[%d].id: missing or repeated %q", i, d.ID)
		}
		seen[d.ID] = true
		if d.Hours != nil {
			if err := d.Hours.Compile(); err != nil {
				return fmt.Errorf("departments[%d].business_hours.%w", i, err)
			}
		}
	}
	if len(e.Departments) > 0 && !seen[e.DefaultDepartment] {
		return fmt.Errorf("default_department: %q is not one of the departments", e.DefaultDepartment)
	}
	agents := map[string]bool{}
	for i, a := range e.Agents {
		if a.ID == "" || agents[a.ID] {
			return fmt.Errorf("agents[%d].id: missing or repeated %q", i, a.ID)
		}
		agents[a.ID] = true
		if a.Capacity < 0 {
			return fmt.Errorf("agents[%d].capacity: must not be negative", i)
		}
		switch a.Role {
		case "", "agent", "supervisor", "admin":
		default:
			return fmt.Errorf("agents[%d].role: want agent, supervisor or admin, got %q", i, a.Role)
		}
		for _, d := range a.Departments {
			if d != e.DefaultDepartment && !seen[d] {
				return fmt.Errorf("agents[%d].departments: unknown department %q", i, d)
			}
		}
	}
	for i := range e.Bots {
		b := &e.Bots[i]
		u, err := url.Parse(b.URL)
		switch {
		case b.ID == "" || e.Bot(b.ID) != b:
			return fmt.Errorf("bots[%d].id: missing or repeated %q", i, b.ID)
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			return fmt.Errorf("bots[%d].url: want an absolute http(s) URL", i)
		case len(b.SecretEnv) == 0 || len(b.SecretEnv) > 2 || slices.Contains(b.SecretEnv, ""):
			return fmt.Errorf("bots[%d].secret_env: name the environment variable holding the bot's secret (two during a key change-over)", i)
		case b.Active != "" && b.Active != "in_hours" && b.Active != "out_of_hours" && b.Active != "always":
			return fmt.Errorf("bots[%d].active: want in_hours, out_of_hours or always", i)
		case b.IdleTimeout < 0:
			return fmt.Errorf("bots[%d].idle_timeout: must not be negative", i)
		}
		for _, d := range b.Departments {
			if d != e.DefaultDepartment && !seen[d] {
				return fmt.Errorf("bots[%d].departments: unknown department %q", i, d)
			}
		}
		if b.Timeout == 0 {
			b.Timeout = 10 * time.Second
		}
	}
	for i, tp := range e.Templates {
		if tp.Name == "" || !strings.HasPrefix(tp.ContentSID, "HX") {
			return fmt.Errorf("templates[%d]: want a name and a content_sid starting with HX", i)
		}
		if tp.Source != "" && tp.Source != TemplateFromTwilio {
			return fmt.Errorf("templates[%d].source: want empty (entered by hand) or %q, got %q", i, TemplateFromTwilio, tp.Source)
		}
	}
	t := e.Timeouts
	for name, d := range map[string]time.Duration{
		"PARLEY_AGENT_RESPONSE_TIMEOUT": t.AgentResponse, "PARLEY_INACTIVITY_TIMEOUT": t.Inactivity,
		"PARLEY_PENDING_TIMEOUT": t.Pending, "PARLEY_TICKET_SESSION_TIMEOUT": t.TicketSession,
		"PARLEY_TICKET_ARCHIVE_AFTER": t.ArchiveAfter,
	} {
		if d < time.Second {
			return fmt.Errorf("%s: must be at least 1s, got %s", name, d)
		}
	}
	if t.Queue < 0 {
		return fmt.Errorf("PARLEY_QUEUE_TIMEOUT: must not be negative, got %s", t.Queue)
	}
	if tr := e.Transcript; tr.Window < 0 || tr.Window > 24*time.Hour || (tr.Window > 0 && tr.Valid < time.Minute) {
		return errors.New("transcript: window from 0 (off) to 24h, and valid at least 1m while it is on")
	}
	if tr := e.Transcript; tr.Offer != "" && tr.Window > 0 && !strings.Contains(tr.Link, "{link}") {
		// Without it the customer who asked gets a text with no copy in it.
		return errors.New("transcript: the link text must contain {link}, where the copy's address goes")
	}
	return nil
}
