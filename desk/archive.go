package desk

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/parleydesk/parley/desk/engine"
)

// Delete moves a closed conversation to the trash (decideDelete).
func (s *Service) Delete(ctx context.Context, a engine.Actor, convID string) error {
	_, err := s.run(ctx, engine.Op{Kind: engine.OpDelete, Actor: a, Conv: convID})
	return err
}

// Restore takes a conversation out of the trash (decideRestore).
func (s *Service) Restore(ctx context.Context, a engine.Actor, convID string) error {
	_, err := s.run(ctx, engine.Op{Kind: engine.OpRestore, Actor: a, Conv: convID})
	return err
}

// ConvertToTicket turns a closed chat into a ticket with a subject, and
// returns the ticket's id (decideConvert).
func (s *Service) ConvertToTicket(ctx context.Context, a engine.Actor, chatID, subject string) (string, error) {
	out, err := s.run(ctx, engine.Op{Kind: engine.OpConvert, Actor: a, Conv: chatID, Subject: subject})
	return out.ID, err
}

// Transcript renders a conversation the actor may see as plain text or JSON.
func (s *Service) Transcript(ctx context.Context, a engine.Actor, convID, format string) ([]byte, error) {
	d, err := s.Detail(ctx, a, convID)
	if err != nil {
		return nil, err
	}
	switch format {
	case "json":
		return json.MarshalIndent(d, "", "  ")
	case "text", "":
	default:
		return nil, fmt.Errorf("%w: format is text or json", engine.ErrInvalid)
	}
	var b strings.Builder
	c := d.Conversation
	fmt.Fprintf(&b, "Parley transcript: %s %s with %s (%s)\n", c.Kind, c.ID, c.Contact, c.ContactName)
	fmt.Fprintf(&b, "Department %s, state %s, opened %s\n", c.Department, c.State, c.CreatedAt.Format(time.RFC3339))
	if c.Closed != nil {
		fmt.Fprintf(&b, "Closed %s by %s (%s)", c.Closed.At.Format(time.RFC3339), c.Closed.By, c.Closed.Reason)
		if c.Closed.Sentiment != "" {
			fmt.Fprintf(&b, ", sentiment %s", c.Closed.Sentiment)
		}
		if c.Closed.Tag != "" {
			fmt.Fprintf(&b, ", tag %s", c.Closed.Tag)
		}
		b.WriteString("\n")
		if c.Closed.Notes != "" {
			fmt.Fprintf(&b, "Notes: %s\n", c.Closed.Notes)
		}
		if len(c.Closed.Refs) > 0 {
			fmt.Fprintf(&b, "References: %s\n", strings.Join(c.Closed.Refs, ", "))
		}
	}
	b.WriteString("\n")
	for _, m := range d.History {
		who := m.Author
		switch m.Direction {
		case engine.DirIn:
			who = "customer " + who
		case engine.DirSystem:
			who = "(event)"
		case engine.DirNote:
			who = "(note) " + who
		}
		fmt.Fprintf(&b, "[%s] %s: %s", m.At.Format("2006-01-02 15:04:05"), who, m.Body)
		if m.Template != nil {
			fmt.Fprintf(&b, "[template %s]", m.Template.ContentSID)
		}
		for _, a := range m.Attachments {
			fmt.Fprintf(&b, " [%s]", attachmentText(a))
		}
		if m.Status != "" {
			fmt.Fprintf(&b, " (%s%s)", m.Status, map[bool]string{true: " " + m.ErrorCode, false: ""}[m.ErrorCode != ""])
		}
		b.WriteString("\n")
	}
	return []byte(b.String()), nil
}

// attachmentText is an attachment in a text transcript: what it is and its
// name, never an address (a signed URL would outlive its purpose there).
func attachmentText(a engine.MessageAttachment) string {
	if a.Kind == engine.KindLocation && a.Latitude != nil && a.Longitude != nil {
		return fmt.Sprintf("location %.5f, %.5f %s", *a.Latitude, *a.Longitude, a.Label)
	}
	text := a.Kind
	if a.Name != "" {
		text += " " + a.Name
	}
	if a.State != engine.FileReady {
		text += " (" + a.State + ")"
	}
	return text
}
