package engine

import (
	"fmt"
	"mime"
	"strings"
	"time"

	"github.com/parleydesk/parley/channels"
	"github.com/parleydesk/parley/config"
)

// Reply is what an agent, the engine or an operator asks to send.
type Reply struct {
	Author    string
	Body      string
	MediaURLs []string
	// Attachments are stored files to send (ReplyAttachment): their URLs
	// go after MediaURLs, and the desk shows their names and previews.
	Attachments []Attachment
	Template    *channels.Template
	// QuickReply, with Body its numbered list, sends a bot's buttons.
	QuickReply *QuickReply
}

// Reply queues an outbound message after checking the channel rules.
func (w *World) Reply(c *Conversation, r Reply) (Message, error) {
	if r.Body == "" && len(r.MediaURLs) == 0 && len(r.Attachments) == 0 && r.Template == nil {
		return Message{}, fmt.Errorf("%w: a message needs a body, media or a template", ErrInvalid)
	}
	if err := CheckSend(c.Contact, r.Template != nil, w.Contact, w.Now); err != nil {
		return Message{}, err
	}
	if err := CheckTemplate(w.Rules, r.Template); err != nil {
		return Message{}, err
	}
	m := Message{
		Direction: DirOut, Author: r.Author, To: c.Contact,
		Body: r.Body, Template: r.Template, QuickReply: r.QuickReply, Status: channels.StatusQueued,
	}
	for _, u := range r.MediaURLs {
		m.Media = append(m.Media, channels.Media{URL: u})
		if len(r.Attachments) > 0 {
			m.Files = append(m.Files, File{}) // keeps Files beside their Media
		}
	}
	for _, a := range r.Attachments {
		m.Media = append(m.Media, channels.Media{URL: a.URL, ContentType: a.ContentType})
		m.Files = append(m.Files, File{ID: a.ID, Name: a.Name, Type: a.ContentType, Size: a.Size, State: FileReady, Until: a.Until.UnixMilli()})
	}
	w.add(c, m)
	return w.Messages[len(w.Messages)-1], nil
}

// CheckSend applies the channel rules with what earlier delivery errors
// taught: a number found unreachable, or a WhatsApp window that Twilio
// reported closed, stays so until the customer writes again.
func CheckSend(to channels.Address, template bool, c *Contact, now time.Time) error {
	if !c.UnreachableAt.IsZero() && !c.UnreachableAt.Before(c.LastInbound) {
		return channels.ErrUnreachable
	}
	return channels.CheckSend(to, template, c.OptedOut, c.WindowFrom(), now)
}

// CheckTemplate refuses a template WhatsApp has not approved. A Content SID
// Parley does not know is left to Twilio, as before there were synced
// templates (an operator's `parley send -template`, a bot's own).
func CheckTemplate(rules *config.Engine, tp *channels.Template) error {
	if tp == nil {
		return nil
	}
	t := rules.Template(tp.ContentSID)
	if t == nil || t.Sendable() {
		return nil
	}
	return fmt.Errorf("%w: %q (%s) is %s on WhatsApp; only an approved template can be sent", ErrTemplateNotApproved, t.Name, t.ContentSID, statusWord(t.Status))
}

func statusWord(s string) string {
	if s == "" {
		return "not approved"
	}
	return s
}

// mediaLabel names what a message carries for a list's preview: "Photo",
// "Voice message", a file's name.
func mediaLabel(media []channels.Media, files []File) string {
	if len(media) == 0 {
		return ""
	}
	name, ct := "", media[0].ContentType
	if len(files) > 0 {
		name = files[0].Name
		if files[0].Type != "" {
			ct = files[0].Type
		}
	}
	label := ""
	switch KindOf(ct) {
	case KindImage:
		label = "Photo"
	case KindAudio:
		label = "Audio"
		if mt, _, _ := mime.ParseMediaType(ct); mt == "audio/ogg" || mt == "audio/opus" {
			label = "Voice message" // what WhatsApp records
		}
	case KindVideo:
		label = "Video"
	default:
		label = name
		if label == "" {
			label = "Document"
		}
	}
	if len(media) > 1 {
		label += fmt.Sprintf(" (+%d)", len(media)-1)
	}
	return label
}

// numberedList is how buttons read where there are none: the body, then
// one numbered line per button.
func numberedList(body string, buttons []string) string {
	var b strings.Builder
	b.WriteString(body)
	for i, label := range buttons {
		fmt.Fprintf(&b, "\n%d. %s", i+1, label)
	}
	return b.String()
}

// KindOf is the attachment kind of a content type.
func KindOf(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(contentType))
	}
	switch {
	case strings.HasPrefix(mt, "image/"):
		return KindImage
	case strings.HasPrefix(mt, "audio/"):
		return KindAudio
	case strings.HasPrefix(mt, "video/"):
		return KindVideo
	}
	return KindDocument
}
