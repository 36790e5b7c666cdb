package desk

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// TrashKeep is how long a deleted conversation can be restored before it is
// purged for good.
const TrashKeep = 30 * 24 * time.Hour

// TimerPurge removes a deleted conversation once TrashKeep has passed.
const TimerPurge Timer = "purge"

// mayManage reports whether the actor may delete, restore or convert a
// conversation: its agent or a supervisor.
func mayManage(a Actor, c *Conversation) error {
	if c.Assignee != a.ID && !a.Supervises() {
		return fmt.Errorf("%w: only the conversation's agent or a supervisor", ErrNotAllowed)
	}
	return nil
}

// Delete moves a closed conversation to the trash: out of every list, kept
// for TrashKeep, then purged.
func (s *Service) Delete(ctx context.Context, a Actor, convID string) error {
	return s.op(ctx, a, convID, func(w *world, c *Conversation) error {
		if c.State != StateClosed || c.DeletedAt != nil {
			return fmt.Errorf("%w: only a closed conversation goes to the trash", ErrWrongState)
		}
		if err := mayManage(a, c); err != nil {
			return err
		}
		at := w.now
		c.DeletedAt, c.DeletedBy = &at, a.ID
		w.disarm(c, TimerArchive)
		w.arm(c, TimerPurge, w.now.Add(TrashKeep))
		w.emit(EventChanged, c, "")
		return nil
	})
}

// Restore takes a conversation out of the trash.
func (s *Service) Restore(ctx context.Context, a Actor, convID string) error {
	return s.op(ctx, a, convID, func(w *world, c *Conversation) error {
		if c.DeletedAt == nil {
			return fmt.Errorf("%w: the conversation is not in the trash", ErrWrongState)
		}
		if c.DeletedBy != a.ID && !a.Supervises() {
			return fmt.Errorf("%w: only who deleted it or a supervisor", ErrNotAllowed)
		}
		c.DeletedAt, c.DeletedBy = nil, ""
		w.disarm(c, TimerPurge)
		if c.Kind == KindTicket {
			w.arm(c, TimerArchive, w.now.Add(w.rules.Timeouts.ArchiveAfter))
		}
		w.emit(EventChanged, c, "")
		return nil
	})
}

// purge deletes a conversation and its messages for good; the wake-up of
// its TimerPurge calls it.
func (s *Service) purge(ctx context.Context, c *Conversation) error {
	k := s.store.keys
	ids, err := s.store.rdb.LRange(ctx, k.history(c.ID), 0, -1).Result()
	if err != nil {
		return err
	}
	t := newTx()
	t.expectRecord(k.conversation(c.ID), c.Version)
	for _, id := range ids {
		t.do("DEL", k.message(id))
	}
	t.do("DEL", k.history(c.ID))
	t.do("DEL", k.conversation(c.ID))
	for key := range k.indexes(c) {
		t.do("ZREM", key, c.ID)
	}
	t.do("ZREM", k.due(), convWake(c.ID))
	return t.commit(ctx, s.store.rdb)
}

// ConvertToTicket turns a closed chat into a ticket with a subject, assigned
// to the agent converting it, for follow-up work. The chat stays closed and
// names the ticket; the ticket carries the chat's history. A contact with
// an open ticket has the chat added to it instead: never two open tickets.
func (s *Service) ConvertToTicket(ctx context.Context, a Actor, chatID, subject string) (string, error) {
	subject = strings.TrimSpace(subject)
	if subject == "" || len(subject) > 200 {
		return "", fmt.Errorf("%w: a subject of 1 to 200 characters", ErrInvalid)
	}
	var ticketID string
	err := s.op(ctx, a, chatID, func(w *world, c *Conversation) error {
		if c.Kind != KindChat || c.State != StateClosed || c.ConvertedTo != "" || c.MergedInto != "" {
			return fmt.Errorf("%w: only a closed chat not yet converted", ErrWrongState)
		}
		if err := mayManage(a, c); err != nil {
			return err
		}
		ticket := w.conversation(w.contact.Ticket)
		if ticket == nil {
			ticket = w.newTicket(c.Department)
			ticket.State, ticket.Assignee, ticket.AssignedAt = StateAssigned, a.ID, w.now
			ticket.Subject = subject
		}
		ticket.Merged = append(ticket.Merged, c.ID)
		w.arm(ticket, TimerArchive, w.now.Add(w.rules.Timeouts.ArchiveAfter))
		w.note(ticket, "Ticket made from a closed chat: "+subject)
		c.ConvertedTo = ticket.ID
		w.emit(EventChanged, c, "")
		ticketID = ticket.ID
		return nil
	})
	return ticketID, err
}

// Transcript renders a conversation the actor may see as plain text or JSON.
func (s *Service) Transcript(ctx context.Context, a Actor, convID, format string) ([]byte, error) {
	d, err := s.Detail(ctx, a, convID)
	if err != nil {
		return nil, err
	}
	switch format {
	case "json":
		return json.MarshalIndent(d, "", "  ")
	case "text", "":
	default:
		return nil, fmt.Errorf("%w: format is text or json", ErrInvalid)
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
		case DirIn:
			who = "customer " + who
		case DirSystem:
			who = "(event)"
		case DirNote:
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
func attachmentText(a MessageAttachment) string {
	if a.Kind == KindLocation && a.Latitude != nil && a.Longitude != nil {
		return fmt.Sprintf("location %.5f, %.5f %s", *a.Latitude, *a.Longitude, a.Label)
	}
	text := a.Kind
	if a.Name != "" {
		text += " " + a.Name
	}
	if a.State != FileReady {
		text += " (" + a.State + ")"
	}
	return text
}
